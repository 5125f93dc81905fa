package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.MigrationCheckpoint.Phase;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.FileBlockDevice;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationResult;
import dev.vde.testing.FailingSyncDevice;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The syncs behind a migration's checkpoint records run on a thread of their own while the copy goes on. One that
 * fails must end the migration with its error, at the copy's next position, and leave on disk only records whose
 * blocks a sync that succeeded made durable: a reopen then resumes from the last of them and completes.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CheckpointSyncFailureTest {
  private static final int FILES = 400;

  @TempDir
  Path dir;

  @Test
  void aCheckpointSyncThatFails_endsTheMigrationWithItsError_andAReopenResumesFromADurableRecord()
      throws IOException {
    Path file = dir.resolve("v.vde");
    FailingSyncDevice dev = new FailingSyncDevice(FileBlockDevice.create(file));
    VirtualDisk disk = VirtualDisk.create(dev, CreateOptions.ofSize(8L << 20).blockSize(4096).inodeCount(1024));
    HeldMigration.writeNumberedFiles(disk, FILES);
    int every = 60;
    int step = every / 3;
    AtomicLong reportedWhenArmed = new AtomicLong(-1);
    AtomicLong highest = new AtomicLong();
    // Positions every 20 inodes, one batch each; no time rule, so every sync after the arming is a position's,
    // started on the sync thread while the copy goes on.
    MigrationOptions o = MigrationOptions.defaults().checkpointEvery(every).maxTimeBetweenCheckpoints(null)
        .listener(p -> {
          if (p.phase() != Phase.COPYING_INODES) {
            return;
          }
          highest.accumulateAndGet(p.migrated(), Math::max);
          if (p.migrated() >= 2 * step && reportedWhenArmed.get() < 0) {
            reportedWhenArmed.set(p.migrated());
            dev.fail = true;
          }
        });

    assertThatThrownBy(() -> InodeMigration.start(disk, MigrationFixture.TAGS, o))
        .isInstanceOf(IOException.class).hasMessageContaining("injected: sync failed");

    assertThat(reportedWhenArmed.get()).as("armed part-way through the copy").isPositive();
    // The sync started at the arming position may have returned before the arming; then the next one fails. The
    // copy waits for a failed sync at the position after it.
    assertThat(highest.get()).as("the copy stopped at the position after the failed sync")
        .isLessThanOrEqualTo(reportedWhenArmed.get() + 2 * step);
    TestVolumes.closeQuietly(disk);

    try (VirtualDisk re = VirtualDisk.open(file)) {
      MigrationCheckpoint st = InodeMigration.status(re);
      assertThat(st).as("still pending").isNotNull();
      assertThat(st.phase()).isEqualTo(Phase.COPYING_INODES);
      // A record is written only after the sync that made its blocks durable returned; the failed sync (at the
      // arming position or the next) was the first not to, so no record on disk goes past the arming position.
      // (The injected failure leaves the written bytes in the host file, so the last record written, not yet
      // synced, may be read back as well as the one before it.)
      assertThat(st.inodesMigrated()).as("no record counts blocks the failed sync was to make durable")
          .isLessThanOrEqualTo(reportedWhenArmed.get());
      assertThat(st.inodesMigrated()).as("the records before the failure are there")
          .isGreaterThanOrEqualTo(reportedWhenArmed.get() - 2 * step);
      MigrationResult r = InodeMigration.resume(re, MigrationOptions.defaults().checkpointEvery(every));
      assertThat(r.cancelled()).isFalse();
      assertThat(r.inodesCopied()).isEqualTo(r.totalInodes() - st.inodesMigrated());
      assertThat(re.info().modules()).containsExactly(Module.TAGS);
      HeldMigration.assertNumberedFiles(re, FILES, 37);
      TestVolumes.assertClean(re.verify(Progress.NONE), "after a failed checkpoint sync and a resume");
    }
  }
}
