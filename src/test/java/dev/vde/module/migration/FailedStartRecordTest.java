package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.format.Bytes;
import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.MigrationCheckpoint.Phase;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.BlockDevice;
import dev.vde.io.FileBlockDevice;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationOptions;
import dev.vde.module.Tags;
import dev.vde.testing.ErrorOnWalWriteDevice;
import dev.vde.testing.FailingSyncDevice;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A migration start whose own transaction fails after its ALLOCATING record was written leaves no migration
 * behind: not in the process that tried (the record used to be taken as the pending migration's, so using the
 * module was refused as "being added by an inode migration"), and not for {@code InodeMigration.peek}, which
 * {@code vde migrate status} uses while another process holds the volume and which cannot see the pending bit (it
 * is in the WAL until the next journal checkpoint), so it reported the leftover record as a running migration.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FailedStartRecordTest {
  @TempDir
  Path dir;

  private static VirtualDisk withFiles(BlockDevice dev) throws IOException {
    VirtualDisk disk = VirtualDisk.create(dev, CreateOptions.ofSize(4L << 20).blockSize(4096).inodeCount(512));
    for (int i = 0; i < 50; i++) {
      disk.writeFile("/f" + i, new byte[] {(byte) i});
    }
    return disk;
  }

  /** Calls {@code then} when an ALLOCATING record is written into the checkpoint region of {@code disk}. */
  private static void onAllocatingRecord(HookDevice dev, long chk, Runnable then) {
    dev.hook = (pos, data) -> {
      MigrationCheckpoint c = HookDevice.recordWritten(pos, data, 4096, chk);
      if (c != null && c.phase() == Phase.ALLOCATING) {
        then.run();
      }
    };
  }

  /** Nothing pending, the module not half there, and a start that now succeeds. */
  private static void assertNoMigration(VirtualDisk disk) throws IOException {
    assertThat(InodeMigration.isPending(disk)).isFalse();
    assertThat(InodeMigration.status(disk)).isNull();
    assertThat(disk.info().migration()).isNull();
    assertThatThrownBy(() -> Tags.list(disk, "/f1")).hasMessageContaining("is not active")
        .hasMessageNotContaining("being added");
  }

  // The record's sync failed: the transaction never commits, and the record it wrote is zeroed at once.
  @Test
  void aStartWhoseRecordCannotBeSynced_leavesNoRecord() throws Exception {
    Path file = dir.resolve("v.vde");
    FailingSyncDevice failing = new FailingSyncDevice(FileBlockDevice.create(file));
    HookDevice dev = new HookDevice(failing);
    VirtualDisk disk = withFiles(dev);
    long chk = disk.volume().regions().find(RegionDirectory.TAG_CHECKPOINT).start();
    onAllocatingRecord(dev, chk, () -> failing.failNext = true);

    assertThatThrownBy(() -> InodeMigration.start(disk, MigrationFixture.TAGS, MigrationOptions.defaults()))
        .hasMessageContaining("injected");
    dev.hook = (pos, data) -> {};
    assertNoMigration(disk);
    disk.close();
    assertThat(InodeMigration.peek(file)).as("what 'vde migrate status' reads from another process").isNull();

    try (VirtualDisk reopened = VirtualDisk.open(file)) {
      assertNoMigration(reopened);
      InodeMigration.start(reopened, MigrationFixture.TAGS, MigrationOptions.defaults());
      assertThat(reopened.info().modules()).containsExactly(Module.TAGS);
      TestVolumes.assertClean(reopened.verify(Progress.NONE), "after a failed start and a second one");
    }
  }

  // The WAL write of the transaction failed: whether it is durable is known only to the next open, which zeroes
  // the record when it finds no migration pending.
  @Test
  void aStartWhoseTransactionFails_isNoMigration_andTheNextOpenZeroesItsRecord() throws Exception {
    Path file = dir.resolve("v.vde");
    ErrorOnWalWriteDevice failing = new ErrorOnWalWriteDevice(FileBlockDevice.create(file));
    HookDevice dev = new HookDevice(failing);
    VirtualDisk disk = withFiles(dev);
    long chk = disk.volume().regions().find(RegionDirectory.TAG_CHECKPOINT).start();
    onAllocatingRecord(dev, chk, () -> failing.arm(disk.volume().superblock()));

    assertThatThrownBy(() -> InodeMigration.start(disk, MigrationFixture.TAGS, MigrationOptions.defaults()))
        .isInstanceOf(OutOfMemoryError.class);
    dev.hook = (pos, data) -> {};
    // The transaction was published before its group failed, and the journal stopped: this process sees the
    // migration it cannot make durable, and refuses every write until the volume is reopened.
    assertThatThrownBy(() -> disk.writeFile("/later", new byte[1])).isNotNull();
    TestVolumes.closeQuietly(disk);

    try (VirtualDisk reopened = VirtualDisk.open(file)) {
      assertNoMigration(reopened);
    }
    assertThat(InodeMigration.peek(file)).as("what 'vde migrate status' reads from another process").isNull();
    try (VirtualDisk reopened = VirtualDisk.open(file)) {
      InodeMigration.start(reopened, MigrationFixture.TAGS, MigrationOptions.defaults());
      assertThat(reopened.info().modules()).containsExactly(Module.TAGS);
      TestVolumes.assertClean(reopened.verify(Progress.NONE), "after a failed start and a second one");
    }
  }

  // A power cut right after the record, before the WAL commit: the reopened volume has no migration, and its
  // first writable open zeroes the record, which peek would otherwise have reported from then on.
  @Test
  void aCrashBetweenTheRecordAndTheCommit_leavesARecordTheNextOpenZeroes() throws Exception {
    PowerLossDevice power = new PowerLossDevice("start cut");
    HookDevice dev = new HookDevice(power);
    VirtualDisk disk = withFiles(dev);
    long chk = disk.volume().regions().find(RegionDirectory.TAG_CHECKPOINT).start();
    // The hook runs before the record's write: the cut comes at the write after it, the transaction's.
    onAllocatingRecord(dev, chk, () -> power.crashAt(power.writeCount() + 1));
    assertThatThrownBy(() -> InodeMigration.start(disk, MigrationFixture.TAGS, MigrationOptions.defaults()))
        .hasRootCauseInstanceOf(PowerLossDevice.PowerCutException.class);
    TestVolumes.closeQuietly(disk);

    // The cut write lost: no migration, and the record is a leftover.
    PowerLossDevice lost = power.powerLoss(PowerLossDevice.KeepPolicy.NONE);
    assertThat(MigrationCheckpoint.newest(block(lost, chk), block(lost, chk + 1), chk, "cut"))
        .as("the record survived the cut").isNotNull();
    try (VirtualDisk reopened = VirtualDisk.open(lost, OpenOptions.defaults())) {
      assertNoMigration(reopened);
    }
    assertThat(Bytes.isZero(block(lost, chk), 0, 4096) && Bytes.isZero(block(lost, chk + 1), 0, 4096))
        .as("checkpoint blocks after a writable open").isTrue();

    // The cut write landed whole: the migration exists, and the record describes it.
    PowerLossDevice landed = power.powerLoss(PowerLossDevice.KeepPolicy.ALL);
    try (VirtualDisk reopened = VirtualDisk.open(landed, OpenOptions.defaults())) {
      assertThat(InodeMigration.isPending(reopened)).isTrue();
      assertThat(InodeMigration.status(reopened).phase()).isEqualTo(Phase.ALLOCATING);
      InodeMigration.resume(reopened, MigrationOptions.defaults());
      assertThat(reopened.info().modules()).containsExactly(Module.TAGS);
      TestVolumes.assertClean(reopened.verify(Progress.NONE), "after a cut start resumed");
    }
  }

  private static byte[] block(PowerLossDevice dev, long blockNo) {
    return Arrays.copyOfRange(dev.snapshot(), (int) (blockNo * 4096), (int) (blockNo * 4096 + 4096));
  }
}
