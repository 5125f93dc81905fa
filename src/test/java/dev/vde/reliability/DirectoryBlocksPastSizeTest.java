package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeCorruptedException;
import dev.vde.format.RegionDirectory;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.inode.InodeCodec;
import dev.vde.testing.PowerLossDevice;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * A directory whose size (resealed) is smaller than the blocks its extents map. A directory grows by mapping the
 * logical block its size ends at; with that block already mapped, the engine committed overlapping extents, and
 * from then on the directory, with every entry it held, no longer read at all: one new file in it cost all the
 * others. The damage must be refused, naming the inode-table block, and nothing changed.
 */
class DirectoryBlocksPastSizeTest {
  private static final int FILES = 40;

  @Test
  void aDirectoryMappingBlocksPastItsSize_isRefused_andNoWriteMakesItUnreadable() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("directory past its size");
    long dir;
    long tableBlock;
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(2 << 20).blockSize(512))) {
      d.mkdir("/d");
      d.writeFile("/keep", new byte[] {7});
      for (int i = 0; i < FILES; i++) {
        d.writeFile("/d/a-file-with-a-longer-name-" + i, new byte[] {(byte) i});
      }
      dir = d.stat("/d").inode();
      assertThat(d.volume().readInode(dir).mappedBlocks()).as("directory blocks").isGreaterThan(1);
      tableBlock = d.volume().regions().find(RegionDirectory.TAG_INODES).start()
          + dir / InodeCodec.perBlock(512, d.volume().superblock().inodeSize());
    }
    // One block's worth of size, where the directory maps more.
    byte[] image = ImageEdit.withInodeField(dev.durableSnapshot(), dir, ImageEdit.INODE_SIZE_FIELD, 512 - 16);
    PowerLossDevice damaged = PowerLossDevice.fromImage(image);
    try (VirtualDisk d = VirtualDisk.open(damaged, OpenOptions.defaults())) {
      for (int i = 0; i < FILES; i++) {
        String p = "/d/a-new-file-with-a-longer-name-" + i;
        assertThatThrownBy(() -> d.writeFile(p, new byte[] {1})).as(p).isInstanceOf(VdeCorruptedException.class)
            .hasMessageContaining("directory inode " + dir + " has size 496 (1 blocks) but maps logical block 1")
            .satisfies(t -> assertThat(((VdeCorruptedException) t).getBlockNo()).isEqualTo(tableBlock));
      }
      assertThatThrownBy(() -> d.list("/d")).isInstanceOf(VdeCorruptedException.class);
      assertThatThrownBy(() -> d.delete("/d")).isInstanceOf(VdeCorruptedException.class);
      assertThat(d.readFile("/keep")).containsExactly(7);
      assertThat(d.verify(Progress.NONE).problems()).isNotEmpty();
    }
    assertThat(damaged.snapshot()).as("nothing written but what recovery writes").isEqualTo(image);
  }
}
