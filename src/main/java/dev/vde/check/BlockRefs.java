package dev.vde.check;

import java.util.function.IntToLongFunction;

/**
 * The reference bitmap: one bit per block that some metadata references (fixed metadata, regions, inode extents,
 * extent chains), plus a second bitmap of blocks referenced more than once. Memory is two bitmaps the size of the
 * allocation bitmap, whatever the volume holds.
 */
final class BlockRefs {
  /** Receives runs of blocks. */
  @FunctionalInterface
  interface RunVisitor {
    void visit(long start, long count);
  }

  private final long totalBlocks;
  private final long[] referenced;
  private final long[] duplicated;
  private boolean anyDuplicate;

  BlockRefs(long totalBlocks) {
    this.totalBlocks = totalBlocks;
    int words = (int) ((totalBlocks + 63) >>> 6);
    this.referenced = new long[words];
    this.duplicated = new long[words];
  }

  long[] referenced() {
    return referenced;
  }

  long[] duplicated() {
    return duplicated;
  }

  boolean anyDuplicate() {
    return anyDuplicate;
  }

  /**
   * Marks fixed metadata (clamped to the volume). Overlaps between metadata areas are not duplicates here: the
   * region directory check reports overlapping regions itself.
   */
  void markMetadata(long start, long count) {
    long from = Math.max(0, start);
    long to = Math.min(totalBlocks, count > 0 && start <= Long.MAX_VALUE - count ? start + count : from);
    forEachWord(from, to, (w, mask) -> referenced[w] |= mask);
  }

  /** Marks a run referenced by an inode or chain; blocks something already referenced become duplicates. */
  void claim(long start, long count) {
    forEachWord(start, start + count, (w, mask) -> {
      long again = referenced[w] & mask;
      if (again != 0) {
        duplicated[w] |= again;
        anyDuplicate = true;
      }
      referenced[w] |= mask;
    });
  }

  @FunctionalInterface
  private interface WordOp {
    void apply(int word, long mask);
  }

  /** Calls {@code op} for each word of {@code [from, to)} with the mask of the bits in range. */
  private static void forEachWord(long from, long to, WordOp op) {
    long p = from;
    while (p < to) {
      int w = (int) (p >>> 6);
      int lo = (int) (p & 63);
      int n = (int) Math.min(64 - lo, to - p);
      op.apply(w, n == 64 ? -1L : ((1L << n) - 1) << lo);
      p += n;
    }
  }

  /**
   * Visits the maximal runs of set bits of a bitmap computed word by word (for example "allocated and not
   * referenced"), never looking past {@code limit}; no temporary bitmap is built.
   */
  static void forEachRun(IntToLongFunction word, long limit, RunVisitor v) {
    int words = (int) ((limit + 63) >>> 6);
    long runStart = -1;
    for (int w = 0; w < words; w++) {
      long x = word.applyAsLong(w);
      long base = (long) w << 6;
      if (base + 64 > limit) {
        x &= (1L << (limit - base)) - 1;
      }
      if (runStart < 0 ? x == 0 : x == -1L) {
        continue;
      }
      int p = 0;
      while (p < 64) {
        long rest = runStart < 0 ? x & (-1L << p) : ~x & (-1L << p);
        if (rest == 0) {
          break;
        }
        p = Long.numberOfTrailingZeros(rest);
        if (runStart < 0) {
          runStart = base + p;
        } else {
          v.visit(runStart, base + p - runStart);
          runStart = -1;
        }
      }
    }
    if (runStart >= 0) {
      v.visit(runStart, limit - runStart);
    }
  }
}
