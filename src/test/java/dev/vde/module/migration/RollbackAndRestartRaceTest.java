package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.VdeException;
import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationResult;
import dev.vde.testing.TestVolumes;
import java.nio.file.Path;
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
    HeldMigration.writeNumberedFiles(disk, FILES);
    long[] firstStart = {-1};
    HeldMigration run = new HeldMigration(disk, () -> firstStart[0] = InodeMigration.status(disk).newTableStart());
    MigrationCheckpoint secondRecord;
    try (run) {
      run.awaitHeld();
      InodeMigration.rollback(disk);
      MigrationControl ctl = new MigrationControl(0, false);
      MigrationResult second = InodeMigration.start(disk, MigrationFixture.TAGS, MigrationOptions.defaults()
          .control(ctl).checkpointEvery(HeldMigration.EVERY).listener(p -> ctl.cancel()));
      assertThat(second.cancelled()).isTrue();
      secondRecord = InodeMigration.status(disk);
      assertThat(secondRecord.newTableStart()).as("the new table went where the first one was")
          .isEqualTo(firstStart[0]);
    }
    run.thread.join(20_000);
    assertThat(run.thread.isAlive()).isFalse();
    assertThat(run.result).isCompletedExceptionally();
    Throwable e = run.result.handle((r, x) -> x).get();
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
      HeldMigration.assertNumberedFiles(re, FILES, 17);
      TestVolumes.assertClean(re.verify(Progress.NONE), "after a rollback and a new start raced a running copy");
    }
  }
}
