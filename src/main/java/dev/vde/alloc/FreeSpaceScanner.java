package dev.vde.alloc;

/**
 * Word-at-a-time searches over a bitmap held as {@code long[]} (bit {@code i} is bit {@code i % 64} of word
 * {@code i / 64}; 1 = allocated). Every search is bounded by {@code limit} bits, so bits past the end of the
 * volume are never reported. Whole words of 0 or of -1 are skipped in one step, which is what makes a 32 MiB
 * bitmap (1 TiB of 4 KiB blocks) scan in a few tens of milliseconds.
 */
public final class FreeSpaceScanner {
  private FreeSpaceScanner() {}

  /** Receives runs of blocks. */
  @FunctionalInterface
  public interface RunVisitor {
    /** Returns false to stop the walk. */
    boolean visit(long start, long count);
  }

  /** First bit at or after {@code from} that is clear, or {@code limit} if none. */
  public static long nextClear(long[] words, long from, long limit) {
    if (from >= limit) {
      return limit;
    }
    int w = (int) (from >>> 6);
    long word = ~words[w] & (-1L << (from & 63));
    while (true) {
      if (word != 0) {
        long bit = ((long) w << 6) + Long.numberOfTrailingZeros(word);
        return Math.min(bit, limit);
      }
      w++;
      if ((long) w << 6 >= limit) {
        return limit;
      }
      word = ~words[w];
    }
  }

  /** First bit at or after {@code from} that is set, or {@code limit} if none. */
  public static long nextSet(long[] words, long from, long limit) {
    if (from >= limit) {
      return limit;
    }
    int w = (int) (from >>> 6);
    long word = words[w] & (-1L << (from & 63));
    while (true) {
      if (word != 0) {
        long bit = ((long) w << 6) + Long.numberOfTrailingZeros(word);
        return Math.min(bit, limit);
      }
      w++;
      if ((long) w << 6 >= limit) {
        return limit;
      }
      word = words[w];
    }
  }

  /**
   * Start of the first run of at least {@code count} clear bits at or after {@code from} (first fit), or -1.
   */
  public static long firstFreeRun(long[] words, long limit, long count, long from) {
    long p = from;
    while (p < limit) {
      long start = nextClear(words, p, limit);
      if (start >= limit) {
        return -1;
      }
      long end = nextSet(words, start, Math.min(limit, start + count));
      if (end - start >= count) {
        return start;
      }
      p = nextSet(words, end, limit);
    }
    return -1;
  }

  /** Visits every maximal run of clear bits in {@code [from, limit)}. */
  public static void freeRuns(long[] words, long from, long limit, RunVisitor v) {
    runs(words, from, limit, false, v);
  }

  /** Visits every maximal run of set bits in {@code [from, limit)}. */
  public static void allocatedRuns(long[] words, long from, long limit, RunVisitor v) {
    runs(words, from, limit, true, v);
  }

  private static void runs(long[] words, long from, long limit, boolean set, RunVisitor v) {
    long p = from;
    while (p < limit) {
      long start = set ? nextSet(words, p, limit) : nextClear(words, p, limit);
      if (start >= limit) {
        return;
      }
      long end = set ? nextClear(words, start, limit) : nextSet(words, start, limit);
      if (!v.visit(start, end - start)) {
        return;
      }
      p = end;
    }
  }

  /** Number of clear bits in {@code [0, limit)}. */
  public static long countFree(long[] words, long limit) {
    long set = 0;
    int full = (int) (limit >>> 6);
    for (int w = 0; w < full; w++) {
      set += Long.bitCount(words[w]);
    }
    int rem = (int) (limit & 63);
    if (rem != 0) {
      set += Long.bitCount(words[full] & ((1L << rem) - 1));
    }
    return limit - set;
  }

  /** Length of the longest run of clear bits in {@code [0, limit)}. */
  public static long largestFreeRun(long[] words, long limit) {
    long[] best = new long[1];
    freeRuns(words, 0, limit, (s, c) -> {
      best[0] = Math.max(best[0], c);
      return true;
    });
    return best[0];
  }

  public static boolean isSet(long[] words, long bit) {
    return (words[(int) (bit >>> 6)] & (1L << (bit & 63))) != 0;
  }

  /** Sets or clears bits {@code [start, start+count)}; returns how many of them changed. */
  public static long setRange(long[] words, long start, long count, boolean value) {
    long p = start;
    long end = start + count;
    long changed = 0;
    while (p < end) {
      int w = (int) (p >>> 6);
      int lo = (int) (p & 63);
      int n = (int) Math.min(64 - lo, end - p);
      long mask = n == 64 ? -1L : ((1L << n) - 1) << lo;
      if (value) {
        changed += Long.bitCount(mask & ~words[w]);
        words[w] |= mask;
      } else {
        changed += Long.bitCount(mask & words[w]);
        words[w] &= ~mask;
      }
      p += n;
    }
    return changed;
  }

  /** True when every bit of {@code [start, start+count)} equals {@code value}. */
  public static boolean rangeIs(long[] words, long start, long count, boolean value) {
    long end = start + count;
    return value ? nextClear(words, start, end) == end : nextSet(words, start, end) == end;
  }
}
