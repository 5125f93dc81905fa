package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.MigrationCheckpoint.Phase;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationResult;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checkpoint syncs run on a thread of the migration's own while the copy goes on. However the copy ends (a
 * listener that throws while a sync is in flight and a record waits for it, an interrupt of the migrating
 * thread), that thread ends with the call, the volume's pending migration stays a record whose blocks are
 * durable, and the migration resumes in the same process to a clean volume.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CheckpointSyncThreadTest {
  private static final int FILES = 300;

  @TempDir
  Path dir;

  private VirtualDisk populated(String name) throws IOException {
    VirtualDisk disk = VirtualDisk.create(dir.resolve(name),
        CreateOptions.ofSize(8L << 20).blockSize(4096).inodeCount(1024));
    disk.batch(x -> {
      for (int i = 0; i < FILES; i++) {
        x.writeFile("/f" + i, new byte[] {(byte) i, (byte) (i >> 8)});
      }
    });
    return disk;
  }

  /**
   * Runs {@code work} on a thread of a group of its own: the sync thread a migration starts joins the group of the
   * thread that starts it, so the group's count tells whether it has ended (other tests' threads do not count).
   */
  private static <T> T inGroup(ThreadGroup group, java.util.concurrent.Callable<T> work) throws Exception {
    java.util.concurrent.CompletableFuture<T> out = new java.util.concurrent.CompletableFuture<>();
    Thread t = new Thread(group, () -> {
      try {
        out.complete(work.call());
      } catch (Throwable e) {
        out.completeExceptionally(e);
      }
    }, "migrating");
    t.start();
    try {
      return out.get(30, java.util.concurrent.TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof Exception x) {
        throw x;
      }
      throw e;
    } finally {
      t.join(10_000);
    }
  }

  private static void awaitNoThreadIn(ThreadGroup group) throws InterruptedException {
    long until = System.nanoTime() + 10_000_000_000L;
    while (group.activeCount() > 0 && System.nanoTime() < until) {
      Thread.sleep(10);
    }
    assertThat(group.activeCount()).as("the checkpoint sync thread ended with the call").isZero();
  }

  private static void checkResumes(VirtualDisk disk, String ctx) throws IOException {
    MigrationResult r = InodeMigration.resume(disk, MigrationOptions.defaults().checkpointEvery(30));
    assertThat(r.cancelled()).isFalse();
    assertThat(disk.info().modules()).containsExactly(Module.TAGS);
    for (int i = 0; i < FILES; i += 13) {
      assertThat(disk.readFile("/f" + i)).containsExactly((byte) i, (byte) (i >> 8));
    }
    TestVolumes.assertClean(disk.verify(Progress.NONE), ctx);
  }

  @Test
  void aListenerThatThrowsWhileASyncIsInFlight_endsTheCall_andTheMigrationResumes() throws Exception {
    VirtualDisk disk = populated("listener.vde");
    ThreadGroup group = new ThreadGroup("listener test");
    // Positions every 10 inodes: at the report of 40 the sync started at 40 is in flight and the record of 30
    // waits for it.
    MigrationOptions o = MigrationOptions.defaults().checkpointEvery(30).maxTimeBetweenCheckpoints(null)
        .listener(p -> {
          if (p.phase() == Phase.COPYING_INODES && p.migrated() >= 40) {
            throw new IllegalStateException("listener failed");
          }
        });
    assertThatThrownBy(() -> inGroup(group, () -> InodeMigration.start(disk, MigrationFixture.TAGS, o)))
        .hasMessageContaining("listener failed");
    awaitNoThreadIn(group);
    MigrationCheckpoint st = InodeMigration.status(disk);
    assertThat(st.phase()).isEqualTo(Phase.COPYING_INODES);
    assertThat(st.inodesMigrated()).as("a record whose sync returned").isBetween(20L, 40L);
    inGroup(group, () -> {
      checkResumes(disk, "after a listener failed while a checkpoint sync was in flight");
      return null;
    });
    awaitNoThreadIn(group);
    disk.close();
  }

  @Test
  void anInterruptOfTheMigratingThread_whileSyncsAreInFlight_neitherStopsNorBreaksTheMigration()
      throws Exception {
    VirtualDisk disk = populated("interrupt.vde");
    ThreadGroup group = new ThreadGroup("interrupt test");
    boolean[] interrupted = {false};
    boolean[] keptInterrupt = {false};
    MigrationOptions o = MigrationOptions.defaults().checkpointEvery(30).maxTimeBetweenCheckpoints(null)
        .listener(p -> {
          if (p.phase() == Phase.COPYING_INODES && p.migrated() >= 40 && !interrupted[0]) {
            interrupted[0] = true;
            Thread.currentThread().interrupt();
          }
        });
    MigrationResult r = inGroup(group, () -> {
      MigrationResult res = InodeMigration.start(disk, MigrationFixture.TAGS, o);
      keptInterrupt[0] = Thread.interrupted();
      return res;
    });
    assertThat(interrupted[0]).isTrue();
    // The interrupt is kept for the caller, not swallowed by the waits for the syncs.
    assertThat(keptInterrupt[0]).isTrue();
    assertThat(r.cancelled()).isFalse();
    awaitNoThreadIn(group);
    assertThat(disk.info().modules()).containsExactly(Module.TAGS);
    TestVolumes.assertClean(disk.verify(Progress.NONE), "after an interrupt during the copy");
    disk.close();
  }
}
