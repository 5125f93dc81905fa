package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.VdeException;
import dev.vde.format.MigrationCheckpoint.Phase;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationResult;
import dev.vde.testing.TestVolumes;
import java.io.InterruptedIOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A paused migration waits for {@code unpause()} in the caller's thread. Closing its volume meanwhile left that
 * thread waiting for good (an unpause could only fail), and interrupting it made the wait a busy loop, since the
 * interrupt status makes every park return at once. Both now end the call with an exception, the migration
 * pending and resumable.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PausedMigrationStopTest {
  @TempDir
  Path dir;

  /** A populated volume whose migration pauses itself after its first batch. */
  private record Paused(VirtualDisk disk, MigrationControl control, Thread thread,
      CompletableFuture<MigrationResult> result) {}

  private Paused startAndPause(Path file) throws Exception {
    VirtualDisk disk = VirtualDisk.create(file, CreateOptions.ofSize(8L << 20).blockSize(512).inodeCount(2048));
    disk.batch(x -> {
      for (int i = 0; i < 1000; i++) {
        x.writeFile("/f" + i, new byte[] {(byte) i});
      }
    });
    MigrationControl control = new MigrationControl(0, false);
    CountDownLatch paused = new CountDownLatch(1);
    MigrationOptions opts = MigrationOptions.defaults().control(control).checkpointEvery(64).listener(p -> {
      if (p.phase() == Phase.COPYING_INODES) {
        control.pause();
        paused.countDown();
      }
    });
    CompletableFuture<MigrationResult> result = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try {
        result.complete(InodeMigration.start(disk, MigrationFixture.TAGS, opts));
      } catch (Throwable e) {
        result.completeExceptionally(e);
      }
    }, "migrating");
    t.setDaemon(true);
    t.start();
    assertThat(paused.await(20, TimeUnit.SECONDS)).isTrue();
    // Well inside the pause loop.
    Thread.sleep(50);
    return new Paused(disk, control, t, result);
  }

  /** How the migration's call ended, within a few seconds; a call still running fails the test. */
  private static Throwable outcome(Paused p) throws Exception {
    try {
      p.thread().join(5_000);
      assertThat(p.thread().isAlive()).as("the paused migration's call has ended").isFalse();
      p.result().getNow(null);
      return null;
    } catch (java.util.concurrent.CompletionException e) {
      return e.getCause();
    } finally {
      // Lets a thread still waiting (the old behaviour) end, so that the failure above is the only trace.
      p.control().cancel();
    }
  }

  @Test
  void closingTheVolume_endsAPausedMigration_whichResumesAfterReopen() throws Exception {
    Path file = dir.resolve("closed.vde");
    Paused p = startAndPause(file);
    p.disk().close();
    Throwable e = outcome(p);
    assertThat(e).isInstanceOf(VdeException.class).hasMessageContaining("closed")
        .hasMessageContaining("resume");
    try (VirtualDisk reopened = VirtualDisk.open(file)) {
      assertThat(InodeMigration.isPending(reopened)).isTrue();
      assertThat(InodeMigration.resume(reopened, MigrationOptions.defaults()).cancelled()).isFalse();
      assertThat(reopened.info().modules()).containsExactly(Module.TAGS);
      assertThat(reopened.readFile("/f999")).containsExactly((byte) 999);
      TestVolumes.assertClean(reopened.verify(Progress.NONE), "after a migration closed while paused");
    }
  }

  @Test
  void interruptingAPausedMigration_endsItsCall_andItResumes() throws Exception {
    Path file = dir.resolve("interrupted.vde");
    Paused p = startAndPause(file);
    p.thread().interrupt();
    Throwable e = outcome(p);
    assertThat(e).isInstanceOf(InterruptedIOException.class).hasMessageContaining("paused");
    try (VirtualDisk disk = p.disk()) {
      assertThat(InodeMigration.isPending(disk)).isTrue();
      disk.writeFile("/after", new byte[] {1, 2, 3});
      assertThat(InodeMigration.resume(disk, MigrationOptions.defaults()).cancelled()).isFalse();
      assertThat(disk.readFile("/after")).containsExactly(1, 2, 3);
      TestVolumes.assertClean(disk.verify(Progress.NONE), "after a migration interrupted while paused");
    }
  }
}
