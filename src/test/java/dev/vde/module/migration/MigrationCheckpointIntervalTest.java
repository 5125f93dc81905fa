package dev.vde.module.migration;

import static dev.vde.module.migration.MigrationFixture.TAGS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.MigrationCheckpoint.Phase;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationResult;
import dev.vde.module.migration.MigrationFixture.Image;
import dev.vde.testing.PowerLossDevice;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** The checkpoint interval a record carries is the one of the run that wrote it, also after a resume. */
class MigrationCheckpointIntervalTest {
  /** Options checkpointing every {@code every} inodes, cancelled once {@code fraction} of the inodes are copied. */
  private static MigrationOptions cancelAt(int every, double fraction) {
    MigrationControl ctl = new MigrationControl(0, false);
    return MigrationOptions.defaults().checkpointEvery(every).control(ctl).listener(p -> {
      if (p.phase() == Phase.COPYING_INODES && p.migrated() >= p.total() * fraction) {
        ctl.cancel();
      }
    });
  }

  // A resume with another --checkpoint-every wrote records that still said the first run's interval.
  @Test
  void aResumeWithAnotherInterval_recordsTheIntervalItUses() throws IOException {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(4, 50, false));
    PowerLossDevice dev = img.device("interval");
    VirtualDisk disk = MigrationFixture.open(dev);
    MigrationResult first = InodeMigration.start(disk, TAGS, cancelAt(16, 0.25));
    assertThat(first.cancelled()).isTrue();
    assertThat(InodeMigration.status(disk).checkpointInterval()).isEqualTo(16);

    disk.close();
    dev = PowerLossDevice.fromImage("interval", dev.snapshot());
    disk = MigrationFixture.open(dev);
    MigrationCheckpoint before = InodeMigration.status(disk);
    assertThat(before.checkpointInterval()).as("the record on disk").isEqualTo(16);
    MigrationResult second = InodeMigration.resume(disk, cancelAt(40, 0.75));
    assertThat(second.cancelled()).isTrue();
    MigrationCheckpoint after = InodeMigration.status(disk);
    assertThat(after.inodesMigrated()).as("the resume made progress").isGreaterThan(before.inodesMigrated());
    assertThat(after.checkpointInterval()).as("the resume's record").isEqualTo(40);

    disk.close();
    dev = PowerLossDevice.fromImage("interval", dev.snapshot());
    disk = MigrationFixture.open(dev);
    assertThat(InodeMigration.status(disk).checkpointInterval()).as("the resume's record, reread").isEqualTo(40);
    MigrationResult last = InodeMigration.resume(disk, MigrationOptions.defaults());
    assertThat(last.cancelled()).isFalse();
    assertThat(InodeMigration.isPending(disk)).isFalse();
    assertThat(MigrationFixture.treeDiff(disk, img.model())).isEmpty();
    assertThat(MigrationFixture.verifyProblems(disk)).isEmpty();
    disk.close();
  }
}
