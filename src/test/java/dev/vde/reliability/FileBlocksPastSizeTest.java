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
import dev.vde.testing.SeededBytes;
import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * A file whose size (resealed) is smaller than the blocks its extents map. Growing it, by a truncate or by a write
 * past its end, brought the bytes of those blocks back into the file where zeros belong: a truncate from one block
 * to three read the old second and third blocks again. The damage must be refused, naming the inode-table block,
 * and nothing changed; reads and writes inside the size go on.
 */
class FileBlocksPastSizeTest {
  private static final int BS = 512;
  private static final int PAYLOAD = BS - 16;

  @Test
  void growingAFileThatMapsBlocksPastItsSize_isRefused_andNothingChanges() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("file past its size");
    long file;
    long tableBlock;
    byte[] content = SeededBytes.bytes(5, 3 * PAYLOAD);
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(2 << 20).blockSize(BS))) {
      d.writeFile("/f", content);
      d.writeFile("/keep", new byte[] {7});
      file = d.stat("/f").inode();
      tableBlock = d.volume().regions().find(RegionDirectory.TAG_INODES).start()
          + file / InodeCodec.perBlock(BS, d.volume().superblock().inodeSize());
    }
    // One block's worth of size, where the file maps three.
    byte[] image = ImageEdit.withInodeField(dev.durableSnapshot(), file, ImageEdit.INODE_SIZE_FIELD, PAYLOAD);
    PowerLossDevice damaged = PowerLossDevice.fromImage(image);
    String message = "file /f (inode " + file + ") has size " + PAYLOAD + " (1 blocks) but maps logical block 1";
    try (VirtualDisk d = VirtualDisk.open(damaged, OpenOptions.defaults())) {
      assertThatThrownBy(() -> d.truncate("/f", 3L * PAYLOAD)).isInstanceOf(VdeCorruptedException.class)
          .hasMessageContaining(message)
          .satisfies(t -> assertThat(((VdeCorruptedException) t).getBlockNo()).isEqualTo(tableBlock));
      assertThatThrownBy(() -> d.write("/f", 3L * PAYLOAD, new byte[] {1}, 0, 1))
          .isInstanceOf(VdeCorruptedException.class).hasMessageContaining(message);
      assertThatThrownBy(() -> d.append("/f", new byte[] {1})).isInstanceOf(VdeCorruptedException.class)
          .hasMessageContaining(message);
      // Inside its size the file reads as before.
      assertThat(d.readFile("/f")).isEqualTo(Arrays.copyOf(content, PAYLOAD));
      assertThat(d.readFile("/keep")).containsExactly(7);
      assertThat(d.verify(Progress.NONE).problems()).isNotEmpty();
    }
    assertThat(damaged.snapshot()).as("nothing written but what recovery writes").isEqualTo(image);
  }
}
