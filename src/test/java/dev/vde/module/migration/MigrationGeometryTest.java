package dev.vde.module.migration;

import static dev.vde.module.migration.MigrationFixture.TAGS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationOptions;
import dev.vde.module.copy.ExtentAwareCopy;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Migrations at the edges of the volume's geometry and free space: targets that the block size cannot hold, and
 * room that is exactly enough.
 */
class MigrationGeometryTest {

  @Test
  void aTargetInodeLargerThanABlock_isRefusedAsAnArgument_beforeAnyWrite_withoutPointingAtTheCopy()
      throws IOException {
    // 512-byte blocks hold 496 bytes of inodes: Tags makes them 448, Security on top would make them 512.
    PowerLossDevice dev = new PowerLossDevice("512-byte blocks with Tags");
    VirtualDisk disk = VirtualDisk.create(dev, CreateOptions.ofSize(4L << 20).blockSize(512).inodeCount(37)
        .module(Module.TAGS));
    disk.writeFile("/f", new byte[] {1, 2, 3});
    disk.checkpoint();
    byte[] before = dev.snapshot();
    long writesBefore = dev.writeCount();
    // The copy keeps the block size, so it cannot hold these inodes either.
    assertThat(ExtentAwareCopy.copyProblem(disk.volume().superblock(), EnumSet.of(Module.SECURITY), 0))
        .as("precondition: a copy refuses too").contains("do not fit in 512-byte blocks");

    assertThatThrownBy(() -> InodeMigration.start(disk, List.of(Module.SECURITY), MigrationOptions.defaults()))
        .isInstanceOf(VdeInvalidArgumentException.class)
        .hasMessageContaining("inodes of 512 bytes do not fit in 512-byte blocks")
        .hasMessageContaining("larger blocks")
        .hasMessageNotContaining("--option copy instead");

    MigrationFixture.assertRefusedWithoutATrace(dev, disk, before, writesBefore);
    disk.close();
  }

  @Test
  void exactlyEnoughRoom_partlyFreedByADeleteJustBefore_isUsedAsPlanned() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("exactly enough room");
    VirtualDisk disk = VirtualDisk.create(dev, CreateOptions.ofSize(4L << 20).blockSize(4096).inodeCount(200));
    InodeMigration.Plan roomy = InodeMigration.plan(disk, TAGS);
    assertThat(roomy.newTableBlocks()).as("precondition: the new table is smaller than Tags' region")
        .isLessThan(roomy.regionBlocks());
    // Free space in the end: a hole of the new table's size, freed by a delete and so allocatable only after the
    // next checkpoint, and then a run of exactly the region's size.
    int payload = 4096 - 16;
    disk.writeFile("/hole", new byte[(int) roomy.newTableBlocks() * payload]);
    int n = 0;
    while (disk.info().freeBlocks() > roomy.regionBlocks() + 16) {
      disk.writeFile("/big" + n++, new byte[16 * payload]);
    }
    while (disk.info().freeBlocks() > roomy.regionBlocks()) {
      disk.writeFile("/small" + n++, new byte[payload]);
    }
    disk.delete("/hole");
    InodeMigration.Plan plan = InodeMigration.plan(disk, TAGS);
    assertThat(plan.feasible()).as("precondition: the plan finds the room: %s", plan.reason()).isTrue();

    InodeMigration.start(disk, TAGS, MigrationOptions.defaults());

    assertThat(disk.info().modules()).containsExactly(Module.TAGS);
    assertThat(disk.info().freeBlocks()).as("the hole and the run taken, the old table given back")
        .isEqualTo(roomy.oldTableBlocks());
    assertThat(MigrationFixture.verifyProblems(disk)).isEmpty();
    try (TestVolumes.Volume reopened = TestVolumes.closeAndVerify(new TestVolumes.Volume(dev, disk))) {
      assertThat(reopened.disk().info().modules()).containsExactly(Module.TAGS);
      assertThat(reopened.disk().info().inodeSize()).isEqualTo(MigrationFixture.TAGS_INODE_SIZE);
    }
  }
}
