package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.MigrationCheckpoint.Phase;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationResult;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A migration adding Tags, started on a thread of its own and held in its listener at the first copy report of at
 * least {@link #HELD_AT} inodes until {@link #release}. Its positions are {@link #EVERY} / 3 = 10 inodes apart and it
 * has no time rule, so while it is held a checkpoint sync is in flight (started at 20) and the record of 10 waits for
 * it: the moment a racing call from another thread finds the most to get wrong.
 */
final class HeldMigration implements AutoCloseable {
  static final int EVERY = 30;
  static final long HELD_AT = 20;

  final CompletableFuture<MigrationResult> result = new CompletableFuture<>();
  final Thread thread;
  private final CountDownLatch held = new CountDownLatch(1);
  private final CountDownLatch release = new CountDownLatch(1);

  /** Starts it; {@code whenHeld} runs on the migration's thread just before it holds. */
  HeldMigration(VirtualDisk disk, Runnable whenHeld) {
    MigrationOptions o = MigrationOptions.defaults().checkpointEvery(EVERY).maxTimeBetweenCheckpoints(null)
        .listener(p -> {
          if (p.phase() == Phase.COPYING_INODES && p.migrated() >= HELD_AT && held.getCount() > 0) {
            whenHeld.run();
            held.countDown();
            try {
              release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
        });
    thread = new Thread(() -> {
      try {
        result.complete(InodeMigration.start(disk, MigrationFixture.TAGS, o));
      } catch (Throwable e) {
        result.completeExceptionally(e);
      }
    }, "held migration");
    thread.setDaemon(true);
    thread.start();
  }

  void awaitHeld() throws InterruptedException {
    assertThat(held.await(20, TimeUnit.SECONDS)).as("the migration reached %d inodes", HELD_AT).isTrue();
  }

  void release() {
    release.countDown();
  }

  @Override
  public void close() {
    release();
  }

  /** Files /f0 … /f{count-1}, each two bytes: its number, low byte first. */
  static void writeNumberedFiles(VirtualDisk disk, int count) throws IOException {
    disk.batch(x -> {
      for (int i = 0; i < count; i++) {
        x.writeFile("/f" + i, new byte[] {(byte) i, (byte) (i >> 8)});
      }
    });
  }

  /** Checks every {@code step}-th of the files {@link #writeNumberedFiles} wrote. */
  static void assertNumberedFiles(VirtualDisk disk, int count, int step) throws IOException {
    for (int i = 0; i < count; i += step) {
      assertThat(disk.readFile("/f" + i)).containsExactly((byte) i, (byte) (i >> 8));
    }
  }
}
