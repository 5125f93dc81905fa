package dev.vde.inode;

import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import java.util.List;

/**
 * Indirect extent blocks (XTNT): extents 9 and up of a file, chained. Layout: u32 count, u32 reserved,
 * u64 next block (0 ends the chain), then {@code count} extents of 24 bytes. The trailer generation is the
 * owning inode's number.
 */
public final class ExtentBlockCodec {
  public static final int HEADER_SIZE = 16;

  private ExtentBlockCodec() {}

  public static int perBlock(int blockSize) {
    return (blockSize - BlockCodec.TRAILER_SIZE - HEADER_SIZE) / Extent.SIZE;
  }

  public static byte[] write(int blockSize, List<Extent> xs, long next, long owner) {
    byte[] b = new byte[blockSize];
    Bytes.put32(b, 0, xs.size());
    Bytes.put64(b, 8, next);
    int p = HEADER_SIZE;
    for (Extent e : xs) {
      Bytes.put64(b, p, e.logical());
      Bytes.put64(b, p + 8, e.start());
      Bytes.put32(b, p + 16, e.count());
      p += Extent.SIZE;
    }
    BlockCodec.seal(b, BlockType.EXTENT, (int) owner);
    return b;
  }

  /** Decoded block: its extents and the next block in the chain. */
  public record Decoded(List<Extent> extents, long next) {}

  /** Decodes a verified XTNT block, checking the count against the block's capacity. */
  public static Decoded read(byte[] b, long blockNo, String resource) throws VdeCorruptedException {
    long n = Bytes.u32(b, 0);
    if (n > perBlock(b.length)) {
      throw new VdeCorruptedException(blockNo, BlockType.EXTENT.structure(),
          "extent count " + n + " exceeds capacity " + perBlock(b.length), resource);
    }
    // An ExtentList, so that joining a chain's blocks into the file's list copies references in bulk.
    Extent[] xs = new Extent[(int) n];
    int p = HEADER_SIZE;
    for (int i = 0; i < n; i++) {
      xs[i] = new Extent(Bytes.i64(b, p), Bytes.i64(b, p + 8), Bytes.i32(b, p + 16));
      p += Extent.SIZE;
    }
    return new Decoded(n == 0 ? ExtentList.EMPTY : new ExtentList(xs, ExtentList.UNKNOWN), Bytes.i64(b, 8));
  }
}
