package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.Module;
import dev.vde.fs.VirtualDisk;
import dev.vde.inode.InodeCodec;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.testing.PowerLossDevice;
import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A new-table block below a pending migration's watermark that was damaged after the copy wrote it (a flipped byte,
 * a block lost) is copied again by the resume, from the old table, which holds every inode's current record. The
 * resume used to trust every block below the recorded watermark: it finished, the swap installed the damaged block
 * and freed the old table, and the files whose inodes it held could no longer be read.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DamagedNewTableResumeTest {
  private static final int BLOCK = 4096;

  /** A cancelled migration to Tags with at least {@code minCopied} inodes copied: the image and its record. */
  private record Pending(MigrationFixture.Image image, byte[] bytes, MigrationCheckpoint record) {}

  private static Pending pending(long minCopied) throws IOException {
    MigrationFixture.Image image = MigrationFixture.build(MigrationFixture.smallSpec(4, 90, true));
    PowerLossDevice dev = image.device("pending migration");
    MigrationCheckpoint c;
    try (VirtualDisk disk = MigrationFixture.open(dev)) {
      MigrationControl ctl = new MigrationControl(0, false);
      assertThat(InodeMigration.start(disk, MigrationFixture.TAGS, MigrationOptions.defaults().control(ctl)
          .checkpointEvery(48).listener(q -> {
            if (q.migrated() >= minCopied) {
              ctl.cancel();
            }
          })).cancelled()).isTrue();
      c = InodeMigration.status(disk);
    }
    assertThat(c.inodesMigrated()).as("inodes copied before the cancel").isGreaterThanOrEqualTo(minCopied);
    return new Pending(image, dev.snapshot(), c);
  }

  /** Block {@code index} of the new table: zeroed (lost), or one payload byte flipped (its checksum then fails). */
  @ParameterizedTest
  @ValueSource(strings = {"zeroed", "flipped"})
  void aDamagedBlockBelowTheWatermarkIsCopiedAgain_andNoFileIsLost(String damage) throws IOException {
    Pending p = pending(100);
    MigrationCheckpoint r = p.record();
    int ipb = InodeCodec.perBlock(BLOCK, r.targetLayout().inodeSize());
    // Block 2 of the new table: below the watermark and not the block just below it, which open checks itself.
    long index = 2;
    assertThat((index + 2) * ipb).as("the block lies well below the watermark")
        .isLessThanOrEqualTo(r.inodesMigrated());
    byte[] bytes = p.bytes().clone();
    int at = (int) ((r.newTableStart() + index) * BLOCK);
    if (damage.equals("zeroed")) {
      java.util.Arrays.fill(bytes, at, at + BLOCK, (byte) 0);
    } else {
      bytes[at + 100] ^= 0x10;
    }
    PowerLossDevice dev = PowerLossDevice.fromImage("damaged new table", bytes);
    try (VirtualDisk disk = MigrationFixture.open(dev)) {
      assertThat(InodeMigration.status(disk)).as("the record still describes the migration").isNotNull();
      long copied = InodeMigration.resume(disk, MigrationOptions.defaults()).inodesCopied();
      assertThat(copied).as("inodes copied by the resume: from the damaged block on")
          .isEqualTo(r.totalInodes() - index * ipb);
      assertThat(disk.info().modules()).contains(Module.TAGS, Module.TRANSIT);
      assertThat(MigrationFixture.treeDiff(disk, p.image().model())).isEmpty();
      assertThat(MigrationFixture.transitDiff(disk, p.image().transit())).isEmpty();
      assertThat(MigrationFixture.verifyProblems(disk)).isEmpty();
    }
    // And as the next process finds it.
    try (VirtualDisk disk = MigrationFixture.open(PowerLossDevice.fromImage("after", dev.snapshot()))) {
      assertThat(MigrationFixture.treeDiff(disk, p.image().model())).isEmpty();
      assertThat(MigrationFixture.verifyProblems(disk)).isEmpty();
    }
  }

  /** Nothing damaged: the resume reads the copied blocks back and goes on from the recorded watermark. */
  @Test
  void anUndamagedTableResumesFromItsWatermark() throws IOException {
    Pending p = pending(100);
    try (VirtualDisk disk = MigrationFixture.open(PowerLossDevice.fromImage("intact", p.bytes()))) {
      long copied = InodeMigration.resume(disk, MigrationOptions.defaults()).inodesCopied();
      assertThat(copied).as("inodes copied by the resume")
          .isEqualTo(p.record().totalInodes() - p.record().inodesMigrated());
      assertThat(MigrationFixture.treeDiff(disk, p.image().model())).isEmpty();
      assertThat(MigrationFixture.verifyProblems(disk)).isEmpty();
    }
  }
}
