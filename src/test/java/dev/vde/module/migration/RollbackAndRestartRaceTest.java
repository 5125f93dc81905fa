package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.VdeException;
import dev.vde.format.MigrationCheckpoint;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A running migration checked that it was still the pending one by the start of its new table only. A rollback
 * from another thread followed by a new start of the same modules puts the new table where the old one was, so
 * the first run, back from its listener (or from waiting for a checkpoint sync), took the second migration for
 * its own: it copied into it, made its own records (its migration id, its sequence) the volume's pending
 * migration and wrote them over the second one's, and swapped; the caller of the second start, told it was
 * cancelled and resumable, found it completed under another id. The run now ends as for a plain rollback.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class RollbackAndRestartRaceTest {
  private static final int FILES = 300;

  @TempDir
  Path dir;

  @Test
  void aRunWhoseMigrationWasRolledBackAndStartedAgain_endsWithoutTouchingTheNewOne() throws Exception {
    Path file = dir.resolve("v.vde");
    VirtualDisk disk = VirtualDisk.create(file, CreateOptions.ofSize(8L << 20).blockSize(4096).inodeCount(1024));
    disk.batch(x -> {
      for (int i = 0; i < FILES; i++) {
        x.writeFile("/f" + i, new byte[] {(byte) i, (byte) (i >> 8)});
      }
    });
    CountDownLatch atPosition = new CountDownLatch(1);
    CountDownLatch goOn = new CountDownLatch(1);
    long[] firstStart = {-1};
    // Positions every 10 inodes: at the report of 20 a sync is in flight and the record of 10 is unconfirmed.
    MigrationOptions first = MigrationOptions.defaults().checkpointEvery(30).maxTimeBetweenCheckpoints(null)
        .listener(p -> {
          if (p.phase() == Phase.COPYING_INODES && p.migrated() >= 20 && atPosition.getCount() > 0) {
            firstStart[0] = InodeMigration.status(disk).newTableStart();
            atPosition.countDown();
            try {
              goOn.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
        });
    CompletableFuture<MigrationResult> result = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try {
        result.complete(InodeMigration.start(disk, MigrationFixture.TAGS, first));
      } catch (Throwable e) {
        result.completeExceptionally(e);
      }
    }, "first migration");
    t.setDaemon(true);
    t.start();
    MigrationCheckpoint secondRecord;
    try {
      assertThat(atPosition.await(20, TimeUnit.SECONDS)).isTrue();
      InodeMigration.rollback(disk);
      MigrationControl ctl = new MigrationControl(0, false);
      MigrationResult second = InodeMigration.start(disk, MigrationFixture.TAGS,
          MigrationOptions.defaults().control(ctl).checkpointEvery(30).listener(p -> ctl.cancel()));
      assertThat(second.cancelled()).isTrue();
      secondRecord = InodeMigration.status(disk);
      assertThat(secondRecord.newTableStart()).as("the new table went where the first one was")
          .isEqualTo(firstStart[0]);
    } finally {
      goOn.countDown();
    }
    t.join(20_000);
    assertThat(t.isAlive()).isFalse();
    assertThat(result).isCompletedExceptionally();
    Throwable e = result.handle((r, x) -> x).get();
    assertThat(e).isInstanceOf(VdeException.class).hasMessageContaining("rolled back or replaced");

    assertThat(InodeMigration.isPending(disk)).as("the second migration is still pending").isTrue();
    MigrationCheckpoint now = InodeMigration.status(disk);
    assertThat(now.migrationId()).as("the pending migration is the second one").isEqualTo(
        secondRecord.migrationId());
    assertThat(now.inodesMigrated()).isEqualTo(secondRecord.inodesMigrated());
    disk.close();
    try (VirtualDisk re = VirtualDisk.open(file)) {
      MigrationCheckpoint reopened = InodeMigration.status(re);
      assertThat(reopened.migrationId()).as("the durable record is the second migration's")
          .isEqualTo(secondRecord.migrationId());
      assertThat(InodeMigration.resume(re, MigrationOptions.defaults()).cancelled()).isFalse();
      assertThat(re.info().modules()).containsExactly(Module.TAGS);
      for (int i = 0; i < FILES; i += 17) {
        assertThat(re.readFile("/f" + i)).containsExactly((byte) i, (byte) (i >> 8));
      }
      TestVolumes.assertClean(re.verify(Progress.NONE), "after a rollback and a new start raced a running copy");
    }
  }
}
