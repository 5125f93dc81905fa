package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.format.MigrationCheckpoint.Phase;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationResult;
import dev.vde.testing.TestVolumes;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pause asked for while the migration waits for the foreground (backing off while writers queue, then waiting
 * for the writer lock they hold) took effect only after one more batch: the pause was looked at before the wait
 * and not after it.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PauseWhileYieldingTest {
  @TempDir
  Path dir;

  @Test
  void aPauseAskedWhileWaitingForTheForeground_stopsTheCopyBeforeItsNextBatch() throws Exception {
    Path file = dir.resolve("yield.vde");
    try (VirtualDisk disk = VirtualDisk.create(file, CreateOptions.ofSize(8L << 20).blockSize(512)
        .inodeCount(2048))) {
      disk.batch(x -> {
        for (int i = 0; i < 1000; i++) {
          x.writeFile("/f" + i, new byte[] {(byte) i});
        }
      });
      MigrationControl control = new MigrationControl(0, true);
      CountDownLatch held = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      CountDownLatch foregroundQueued = new CountDownLatch(1);
      AtomicLong lastReported = new AtomicLong(-1);
      Thread[] foreground = new Thread[2];
      MigrationOptions opts = MigrationOptions.defaults().control(control).checkpointEvery(64).listener(p -> {
        if (p.phase() != Phase.COPYING_INODES) {
          return;
        }
        boolean first = lastReported.getAndSet(p.migrated()) < 0;
        if (!first) {
          return;
        }
        // After the first batch: one foreground writer holds the writer lock and another queues for it, so the
        // migration backs off and then waits for the lock.
        foreground[0] = new Thread(() -> {
          try {
            disk.volume().withWriterLock(() -> {
              held.countDown();
              await(release);
              return null;
            });
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }, "holder");
        foreground[0].start();
        await(held);
        foreground[1] = new Thread(() -> {
          try {
            disk.writeFile("/foreground", new byte[] {7});
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }, "writer");
        foreground[1].start();
        while (!disk.volume().writersWaiting()) {
          Thread.onSpinWait();
        }
        foregroundQueued.countDown();
      });
      CompletableFuture<MigrationResult> result = CompletableFuture.supplyAsync(() -> {
        try {
          return InodeMigration.start(disk, MigrationFixture.TAGS, opts);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      assertThat(foregroundQueued.await(20, TimeUnit.SECONDS)).isTrue();
      long before = lastReported.get();
      // Long past the at most 10 ms of backing off: the migration waits for the writer lock now.
      Thread.sleep(100);
      control.pause();
      release.countDown();
      foreground[0].join(10_000);
      foreground[1].join(10_000);
      assertThat(disk.readFile("/foreground")).containsExactly(7);
      Thread.sleep(300);
      assertThat(lastReported.get()).as("inodes migrated after the pause was asked for").isEqualTo(before);
      assertThat(InodeMigration.status(disk).inodesMigrated()).isLessThanOrEqualTo(before);
      control.unpause();
      MigrationResult r = result.get(30, TimeUnit.SECONDS);
      assertThat(r.cancelled()).isFalse();
      assertThat(disk.info().modules()).containsExactly(Module.TAGS);
      assertThat(disk.readFile("/f999")).containsExactly((byte) 999);
      TestVolumes.assertClean(disk.verify(Progress.NONE), "after a migration paused while it yielded");
    }
  }

  private static void await(CountDownLatch latch) {
    try {
      if (!latch.await(20, TimeUnit.SECONDS)) {
        throw new IllegalStateException("timed out");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
