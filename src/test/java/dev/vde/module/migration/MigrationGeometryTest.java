package dev.vde.module.migration;

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
import java.io.IOException;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Migrations at the edges of the volume's geometry: targets that the block size cannot hold. */
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

    assertThat(dev.writeCount()).as("writes issued by the refused start").isEqualTo(writesBefore);
    assertThat(dev.snapshot()).as("the volume's bytes after the refusal").isEqualTo(before);
    assertThat(InodeMigration.isPending(disk)).isFalse();
    assertThat(MigrationFixture.verifyProblems(disk)).isEmpty();
    disk.close();
  }
}
