package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.inode.InodeCodec;
import dev.vde.testing.PowerLossDevice;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * FORMAT.md section 2: the engine checks the trailer generation of DATA, DIRE and XTNT blocks, which names the
 * owning inode, on every read, and refuses a block that names another inode although its checksum and tag are
 * valid. Each case moves one such block to another owner (resealed, so only the generation is wrong).
 */
class OwnerGenerationTest {
  @TempDir Path tmp;

  private byte[] image() throws IOException {
    Path host = tmp.resolve("g.vde");
    try (VirtualDisk d = VirtualDisk.create(host, CreateOptions.ofSize(2L << 20).blockSize(512))) {
      d.mkdir("/dir");
      d.writeFile("/dir/a", new byte[] {1, 2, 3});
      // Every other logical block written: one extent each, 20 of them, so 12 live in an XTNT block.
      d.writeFile("/frag", new byte[0]);
      for (int k = 0; k < 20; k++) {
        d.write("/frag", (long) k * 2 * 496, new byte[] {(byte) k}, 0, 1);
      }
    }
    return Files.readAllBytes(host);
  }

  /** The u64 at {@code offset} of inode {@code number}'s record (FORMAT.md section 9). */
  private static long inodeField(byte[] image, long number, int offset) throws IOException {
    Superblock sb = ImageEdit.newestSuperblock(image);
    long table = Reseal.regions(image).find(RegionDirectory.TAG_INODES).start();
    int ipb = InodeCodec.perBlock(sb.blockSize(), sb.inodeSize());
    byte[] b = ImageEdit.block(image, table + number / ipb, sb.blockSize());
    return Bytes.i64(b, (int) (number % ipb) * sb.inodeSize() + offset);
  }

  /** The physical start of inode {@code number}'s first extent (offset 80 + 8). */
  private static long firstBlock(byte[] image, long number) throws IOException {
    return inodeField(image, number, 88);
  }

  private static void moveToOwner(byte[] image, long blockNo, long newOwner) {
    byte[] b = ImageEdit.block(image, blockNo, 512);
    BlockCodec.seal(b, BlockType.fromTag(BlockCodec.storedTag(b)), (int) newOwner);
    System.arraycopy(b, 0, image, (int) (blockNo * 512), 512);
  }

  private static long inode(byte[] image, String path) throws IOException {
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(image), OpenOptions.readOnlyOptions())) {
      return d.stat(path).inode();
    }
  }

  @Test
  void aDirectoryBlockNamingAnotherInodeIsRefused() throws IOException {
    byte[] image = image();
    long dir = inode(image, "/dir");
    moveToOwner(image, firstBlock(image, dir), dir + 100);
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(image), OpenOptions.readOnlyOptions())) {
      assertThatThrownBy(() -> d.list("/dir")).isInstanceOf(VdeCorruptedException.class)
          .hasMessageContaining("block belongs to inode " + (dir + 100));
    }
  }

  @Test
  void anExtentBlockNamingAnotherInodeIsRefused() throws IOException {
    byte[] image = image();
    long frag = inode(image, "/frag");
    moveToOwner(image, inodeField(image, frag, 56), frag + 100);
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(image), OpenOptions.readOnlyOptions())) {
      assertThatThrownBy(() -> d.readFile("/frag")).isInstanceOf(VdeCorruptedException.class)
          .hasMessageContaining("block belongs to inode " + (frag + 100));
    }
  }

  @Test
  void aDataBlockNamingAnotherInodeIsRefused() throws IOException {
    byte[] image = image();
    long a = inode(image, "/dir/a");
    moveToOwner(image, firstBlock(image, a), a + 100);
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(image), OpenOptions.readOnlyOptions())) {
      assertThatThrownBy(() -> d.readFile("/dir/a")).isInstanceOf(VdeCorruptedException.class)
          .hasMessageContaining("belongs to inode " + (a + 100));
    }
  }
}
