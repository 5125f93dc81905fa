package dev.vde.wal;

import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import java.util.ArrayList;
import java.util.List;

/**
 * Encoding of one WAL transaction: one or more descriptor blocks (MWAL), each followed by the images of its
 * metadata entries, then one commit block (MCMT).
 *
 * <pre>
 * descriptor: 0 u64 txId, 8 u64 salt, 16 u32 entryCount, 20 u32 flags (bit 0: last descriptor),
 *             24 u64 checkGeneration: 0, or bit 32 set and the low 32 bits the trailer generation every data
 *                 check of this descriptor must find (older engines wrote 0 here: checksum only),
 *             32 entries of 16 bytes: u64 ref, u64 checksum
 *             ref bit 63 clear: metadata image of block ref, which follows (its trailer checksum = checksum)
 *             ref bit 63 set:   data check for block (ref &amp; ~bit63), no image follows
 * commit:     0 u64 txId, 8 u64 salt, 16 u32 descriptorCount, 20 u32 totalEntries,
 *             24 u64 chain = XXH3-64 of the trailer checksums (u64 each, in order) of every descriptor and image,
 *             32 u64 imageTrailers = XXH3-64 of the tag and generation (bytes bs-16..bs-8) of every image, in
 *                 order, 40 u32 flags (bit 0: imageTrailers present; older engines wrote zeros here)
 * </pre>
 * Trailer generation of both kinds: the low 32 bits of txId. One descriptor's data checks share one generation,
 * so a descriptor ends early where the generation of the next data check differs. An engine that ignores
 * {@code checkGeneration} (one that wrote it as reserved zero) still reads these transactions as before.
 */
public final class WalCodec {
  public static final int DESCRIPTOR_HEADER = 32;
  public static final int ENTRY_SIZE = 16;
  public static final long DATA_CHECK_FLAG = 1L << 63;
  public static final int FLAG_LAST = 1;
  /** Offset in a descriptor of the generation its data checks must find. */
  public static final int CHECK_GENERATION_OFFSET = 24;
  /** Set in {@code checkGeneration} when the field holds a generation. */
  public static final long CHECK_GENERATION_PRESENT = 1L << 32;
  /** Offset in a commit block of the hash of the images' tags and generations, and of its flags. */
  public static final int IMAGE_TRAILERS_OFFSET = 32;
  public static final int COMMIT_FLAGS_OFFSET = 40;
  /** Set in a commit block's flags when {@code imageTrailers} is present. */
  public static final int COMMIT_FLAG_IMAGE_TRAILERS = 1;

  private WalCodec() {}

  public static int entriesPerDescriptor(int blockSize) {
    return (BlockCodec.payloadSize(blockSize) - DESCRIPTOR_HEADER) / ENTRY_SIZE;
  }

  /**
   * WAL blocks one transaction of {@code images} images and {@code checks} data checks in {@code checkRuns} runs of
   * one generation takes, at most: each change of generation may end a descriptor early. Callers that merge lists
   * may pass the sum of their runs (a bound too).
   */
  public static long blocksNeeded(int blockSize, long images, long checks, long checkRuns) {
    long entries = images + checks;
    int per = entriesPerDescriptor(blockSize);
    long descriptors = Math.max(1, (entries + per - 1) / per + Math.max(0, checkRuns - 1));
    return descriptors + images + 1;
  }

  /** Runs of consecutive data checks with the same generation. */
  public static int checkRuns(List<DataCheck> checks) {
    int runs = 0;
    for (int i = 0; i < checks.size(); i++) {
      if (i == 0 || checks.get(i).generation() != checks.get(i - 1).generation()) {
        runs++;
      }
    }
    return runs;
  }

  /** Encodes a whole transaction into consecutive blocks. */
  public static byte[] encode(int blockSize, long txId, long salt, List<BlockImage> images, List<DataCheck> checks) {
    int per = entriesPerDescriptor(blockSize);
    long total = images.size() + checks.size();
    List<byte[]> blocks = new ArrayList<>();
    List<Long> chain = new ArrayList<>();
    byte[] trailers = new byte[images.size() * 8];
    int imageIdx = 0;
    int checkIdx = 0;
    int descriptors = 0;
    do {
      byte[] d = new byte[blockSize];
      Bytes.put64(d, 0, txId);
      Bytes.put64(d, 8, salt);
      List<BlockImage> follow = new ArrayList<>();
      int n = 0;
      int p = DESCRIPTOR_HEADER;
      while (n < per && imageIdx < images.size()) {
        BlockImage im = images.get(imageIdx);
        System.arraycopy(im.data(), blockSize - BlockCodec.TRAILER_SIZE, trailers, imageIdx * 8, 8);
        imageIdx++;
        Bytes.put64(d, p, im.blockNo());
        Bytes.put64(d, p + 8, BlockCodec.storedChecksum(im.data()));
        follow.add(im);
        p += ENTRY_SIZE;
        n++;
      }
      if (n < per && checkIdx < checks.size()) {
        int gen = checks.get(checkIdx).generation();
        Bytes.put64(d, CHECK_GENERATION_OFFSET, CHECK_GENERATION_PRESENT | Integer.toUnsignedLong(gen));
        while (n < per && checkIdx < checks.size() && checks.get(checkIdx).generation() == gen) {
          DataCheck c = checks.get(checkIdx++);
          Bytes.put64(d, p, c.blockNo() | DATA_CHECK_FLAG);
          Bytes.put64(d, p + 8, c.checksum());
          p += ENTRY_SIZE;
          n++;
        }
      }
      boolean last = imageIdx == images.size() && checkIdx == checks.size();
      Bytes.put32(d, 16, n);
      Bytes.put32(d, 20, last ? FLAG_LAST : 0);
      chain.add(BlockCodec.seal(d, BlockType.WAL_DESCRIPTOR, (int) txId));
      blocks.add(d);
      descriptors++;
      for (BlockImage im : follow) {
        blocks.add(im.data());
        chain.add(BlockCodec.storedChecksum(im.data()));
      }
    } while (imageIdx < images.size() || checkIdx < checks.size());
    byte[] c = new byte[blockSize];
    Bytes.put64(c, 0, txId);
    Bytes.put64(c, 8, salt);
    Bytes.put32(c, 16, descriptors);
    Bytes.put32(c, 20, (int) total);
    Bytes.put64(c, 24, chainHash(chain));
    Bytes.put64(c, IMAGE_TRAILERS_OFFSET, BlockCodec.hash(trailers, 0, trailers.length));
    Bytes.put32(c, COMMIT_FLAGS_OFFSET, COMMIT_FLAG_IMAGE_TRAILERS);
    BlockCodec.seal(c, BlockType.WAL_COMMIT, (int) txId);
    blocks.add(c);
    byte[] out = new byte[blocks.size() * blockSize];
    for (int i = 0; i < blocks.size(); i++) {
      System.arraycopy(blocks.get(i), 0, out, i * blockSize, blockSize);
    }
    return out;
  }

  static long chainHash(List<Long> checksums) {
    byte[] b = new byte[checksums.size() * 8];
    for (int i = 0; i < checksums.size(); i++) {
      Bytes.put64(b, i * 8, checksums.get(i));
    }
    return BlockCodec.hash(b, 0, b.length);
  }
}
