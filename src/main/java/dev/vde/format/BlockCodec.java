package dev.vde.format;

import com.dynatrace.hash4j.hashing.Hasher64;
import com.dynatrace.hash4j.hashing.Hashing;
import dev.vde.VdeCorruptedException;

/**
 * Writes and checks the 16-byte trailer that ends every block, and nothing else does.
 *
 * <pre>
 * offset blockSize-16  u32  type tag (four ASCII bytes, see {@link BlockType})
 * offset blockSize-12  u32  generation (meaning depends on the block type; see FORMAT.md)
 * offset blockSize-8   u64  XXH3-64, seed 0, of bytes [0, blockSize-16)
 * </pre>
 */
public final class BlockCodec {
  public static final int TRAILER_SIZE = 16;

  private static final Hasher64 XXH3 = Hashing.xxh3_64();

  private BlockCodec() {}

  /** XXH3-64 (seed 0) of a byte range. */
  public static long hash(byte[] b, int off, int len) {
    return XXH3.hashBytesToLong(b, off, len);
  }

  /** Number of payload bytes in a block of the given size. */
  public static int payloadSize(int blockSize) {
    return blockSize - TRAILER_SIZE;
  }

  /** Fills in the trailer of {@code block} (whose length is the block size) and returns its checksum. */
  public static long seal(byte[] block, BlockType type, int generation) {
    return sealAt(block, 0, block.length, type, generation);
  }

  /** {@link #seal} for a block stored at {@code off} inside a larger buffer. */
  public static long sealAt(byte[] buf, int off, int blockSize, BlockType type, int generation) {
    int t = off + blockSize - TRAILER_SIZE;
    long h = hash(buf, off, blockSize - TRAILER_SIZE);
    Bytes.put32(buf, t, type.tag());
    Bytes.put32(buf, t + 4, generation);
    Bytes.put64(buf, t + 8, h);
    return h;
  }

  /** The checksum stored in a block's trailer. */
  public static long storedChecksum(byte[] block) {
    return Bytes.i64(block, block.length - 8);
  }

  public static int storedTag(byte[] block) {
    return Bytes.i32(block, block.length - TRAILER_SIZE);
  }

  public static int storedGeneration(byte[] block) {
    return Bytes.i32(block, block.length - 12);
  }

  /** True when the stored checksum matches the payload (tag not considered). */
  public static boolean checksumMatches(byte[] block) {
    return hash(block, 0, block.length - TRAILER_SIZE) == storedChecksum(block);
  }

  /**
   * Checks the trailer of a block read from {@code blockNo}: checksum first (a torn or damaged block), then the
   * tag. Returns the generation.
   *
   * @throws VdeCorruptedException naming the block, the expected structure and what was found
   */
  public static int verify(byte[] block, long blockNo, BlockType expected, String resource)
      throws VdeCorruptedException {
    return verifyAt(block, 0, block.length, blockNo, expected, resource);
  }

  /** {@link #verify} for a block stored at {@code off} inside a larger buffer. */
  public static int verifyAt(byte[] buf, int off, int blockSize, long blockNo, BlockType expected, String resource)
      throws VdeCorruptedException {
    int t = off + blockSize - TRAILER_SIZE;
    return verifySplit(buf, off, blockSize, Bytes.i32(buf, t), Bytes.i32(buf, t + 4), Bytes.i64(buf, t + 8), blockNo,
        expected, resource);
  }

  /**
   * {@link #verifyAt} for a block whose payload was moved apart from its trailer: the payload is
   * {@code payload[off, off + blockSize - 16)}, the trailer the three values given. Returns the generation.
   */
  public static int verifySplit(byte[] payload, int off, int blockSize, int tag, int generation, long stored,
      long blockNo, BlockType expected, String resource) throws VdeCorruptedException {
    int len = blockSize - TRAILER_SIZE;
    long actual = hash(payload, off, len);
    if (stored != actual) {
      String what = tag == 0 && generation == 0 && stored == 0 && Bytes.isZero(payload, off, len)
          ? "block is all zero (never written, or lost)"
          : String.format("trailer checksum mismatch, expected=%016x found=%016x", actual, stored);
      throw new VdeCorruptedException(blockNo, expected.structure(), what, resource);
    }
    if (tag != expected.tag()) {
      BlockType found = BlockType.fromTag(tag);
      throw new VdeCorruptedException(blockNo, expected.structure(),
          "wrong block type, expected " + expected.ascii() + " found " + BlockType.describeTag(tag)
              + (found == null ? "" : " (" + found.structure() + ")"),
          resource);
    }
    return generation;
  }
}
