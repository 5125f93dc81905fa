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
 *             24 u64 reserved, 32 entries of 16 bytes: u64 ref, u64 checksum
 *             ref bit 63 clear: metadata image of block ref, which follows (its trailer checksum = checksum)
 *             ref bit 63 set:   data check for block (ref &amp; ~bit63), no image follows
 * commit:     0 u64 txId, 8 u64 salt, 16 u32 descriptorCount, 20 u32 totalEntries,
 *             24 u64 chain = XXH3-64 of the trailer checksums (u64 each, in order) of every descriptor and image
 * </pre>
 * Trailer generation of both kinds: the low 32 bits of txId.
 */
public final class WalCodec {
  public static final int DESCRIPTOR_HEADER = 32;
  public static final int ENTRY_SIZE = 16;
  public static final long DATA_CHECK_FLAG = 1L << 63;
  public static final int FLAG_LAST = 1;

  private WalCodec() {}

  public static int entriesPerDescriptor(int blockSize) {
    return (BlockCodec.payloadSize(blockSize) - DESCRIPTOR_HEADER) / ENTRY_SIZE;
  }

  /** WAL blocks one transaction of {@code images} images and {@code checks} data checks takes. */
  public static long blocksNeeded(int blockSize, long images, long checks) {
    long entries = images + checks;
    int per = entriesPerDescriptor(blockSize);
    long descriptors = Math.max(1, (entries + per - 1) / per);
    return descriptors + images + 1;
  }

  /** Encodes a whole transaction into consecutive blocks. */
  public static byte[] encode(int blockSize, long txId, long salt, List<BlockImage> images, List<DataCheck> checks) {
    int per = entriesPerDescriptor(blockSize);
    long total = images.size() + checks.size();
    int nBlocks = (int) blocksNeeded(blockSize, images.size(), checks.size());
    byte[] out = new byte[nBlocks * blockSize];
    List<Long> chain = new ArrayList<>();
    int imageIdx = 0;
    int checkIdx = 0;
    int blk = 0;
    int descriptors = 0;
    long remaining = total;
    do {
      int n = (int) Math.min(per, remaining);
      remaining -= n;
      byte[] d = new byte[blockSize];
      Bytes.put64(d, 0, txId);
      Bytes.put64(d, 8, salt);
      Bytes.put32(d, 16, n);
      Bytes.put32(d, 20, remaining == 0 ? FLAG_LAST : 0);
      List<BlockImage> follow = new ArrayList<>();
      int p = DESCRIPTOR_HEADER;
      for (int i = 0; i < n; i++) {
        if (imageIdx < images.size()) {
          BlockImage im = images.get(imageIdx++);
          Bytes.put64(d, p, im.blockNo());
          Bytes.put64(d, p + 8, BlockCodec.storedChecksum(im.data()));
          follow.add(im);
        } else {
          DataCheck c = checks.get(checkIdx++);
          Bytes.put64(d, p, c.blockNo() | DATA_CHECK_FLAG);
          Bytes.put64(d, p + 8, c.checksum());
        }
        p += ENTRY_SIZE;
      }
      chain.add(BlockCodec.seal(d, BlockType.WAL_DESCRIPTOR, (int) txId));
      System.arraycopy(d, 0, out, blk++ * blockSize, blockSize);
      descriptors++;
      for (BlockImage im : follow) {
        System.arraycopy(im.data(), 0, out, blk++ * blockSize, blockSize);
        chain.add(BlockCodec.storedChecksum(im.data()));
      }
    } while (remaining > 0);
    byte[] c = new byte[blockSize];
    Bytes.put64(c, 0, txId);
    Bytes.put64(c, 8, salt);
    Bytes.put32(c, 16, descriptors);
    Bytes.put32(c, 20, (int) total);
    Bytes.put64(c, 24, chainHash(chain));
    BlockCodec.seal(c, BlockType.WAL_COMMIT, (int) txId);
    System.arraycopy(c, 0, out, blk * blockSize, blockSize);
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
