package dev.vde.reliability;

import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.inode.InodeCodec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Precise damage for regression tests: changes one field of one inode record in a closed image and reseals the
 * inode-table block, so the damage is internally consistent (checksum valid) and reaches the decoders, the way
 * a bug in a writer, or a fuzzer that fixes up checksums, would produce it.
 */
final class ImageEdit {
  /** Offset of the u64 file size in an inode record (FORMAT.md, inode core). */
  static final int INODE_SIZE_FIELD = 16;

  private ImageEdit() {}

  /** A copy of {@code image} with the u64 at {@code fieldOffset} of inode {@code number} set to {@code value}. */
  static byte[] withInodeField(byte[] image, long number, int fieldOffset, long value) throws IOException {
    byte[] out = image.clone();
    Superblock sb = newestSuperblock(out);
    int bs = sb.blockSize();
    List<byte[]> rd = new ArrayList<>();
    for (int i = 0; i < sb.regionDirBlocks(); i++) {
      rd.add(block(out, sb.regionDirStart() + i, bs));
    }
    RegionDirectory.Entry table = RegionDirectory.read(rd, sb.regionDirStart(), "edit").find(
        RegionDirectory.TAG_INODES);
    int ipb = InodeCodec.perBlock(bs, sb.inodeSize());
    long blockNo = table.start() + number / ipb;
    int off = (int) (blockNo * bs);
    Bytes.put64(out, off + (int) (number % ipb) * sb.inodeSize() + fieldOffset, value);
    BlockCodec.sealAt(out, off, bs, BlockType.INODE_TABLE, BlockCodec.storedGeneration(block(out, blockNo, bs)));
    return out;
  }

  /** The newer of the two superblock copies; the block size is read from block 0's superblock. */
  static Superblock newestSuperblock(byte[] image) throws IOException {
    int bs = Bytes.i32(image, 8);
    Superblock best = null;
    for (long b = 0; b < 2; b++) {
      Superblock s = Superblock.read(block(image, b, bs), b, "edit");
      if (best == null || s.sequence() > best.sequence()) {
        best = s;
      }
    }
    return best;
  }

  static byte[] block(byte[] image, long b, int bs) {
    return Arrays.copyOfRange(image, (int) (b * bs), (int) ((b + 1) * bs));
  }
}
