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
   *
   * <p>One pass over the words, never one step per run: a bitmap of tens of millions of tiny runs (every other
   * block of a volume of one-block files freed) took over a second per search when each run was visited, and
   * this search runs under the writer lock. The run reaching the top of one word is carried into the next; runs
   * inside a word (only those shorter than 63 bits fit there) are found by {@link #runStarts}.
   */
  public static long firstFreeRun(long[] words, long limit, long count, long from) {
    if (from < 0 || from >= limit) {
      return -1;
    }
    if (count <= 0) {
      long c = nextClear(words, from, limit);
      return c < limit ? c : -1;
    }
    long runStart = from;
    long runLen = 0;
    int first = (int) (from >>> 6);
    int last = (int) ((limit - 1) >>> 6);
    for (int w = first; w <= last; w++) {
      long free = clearBits(words, w, from, limit, first, last);
      long base = (long) w << 6;
      if (free == 0) {
        // The common word of a full volume: nothing here, nothing carried.
        runLen = 0;
        runStart = base + 64;
        continue;
      }
      if (free == -1L) {
        runLen += 64;
        if (runLen >= count) {
          return runStart;
        }
        continue;
      }
      if (runLen + Long.numberOfTrailingZeros(~free) >= count) {
        return runStart;
      }
      if (count < 63) {
        long starts = runStarts(free, (int) count);
        if (starts != 0) {
          return base + Long.numberOfTrailingZeros(starts);
        }
      }
      runLen = Long.numberOfLeadingZeros(~free);
      runStart = base + 64 - runLen;
      if (runLen >= count) {
        // 63 clear bits at the top of the last word: no later word would look at them.
        return runStart;
      }
    }
    return -1;
  }

  /**
   * The clear bits of word {@code w} as set bits, with the bits before {@code from} (in the first word) and from
   * {@code limit} on (in the last) counted as allocated.
   */
  private static long clearBits(long[] words, int w, long from, long limit, int first, int last) {
    long free = ~words[w];
    if (w == first) {
      free &= -1L << (from & 63);
    }
    if (w == last && (limit & 63) != 0) {
      free &= (1L << (limit & 63)) - 1;
    }
    return free;
  }

  /**
   * The bits of {@code x} that begin a run of at least {@code k} set bits lying inside {@code x} ({@code k} from
   * 1 to 64): each step doubles the length the survivors are known to start, so {@code k} takes log2(k) steps.
   */
  static long runStarts(long x, int k) {
    long m = x;
    int have = 1;
    while (have < k && m != 0) {
      int s = Math.min(have, k - have);
      m &= m >>> s;
      have += s;
    }
    return m;
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

  /**
   * Length of the longest run of clear bits in {@code [0, limit)}. One pass over the words, as
   * {@link #firstFreeRun}: a run inside a word is looked for only when it could beat the longest so far.
   */
  public static long largestFreeRun(long[] words, long limit) {
    if (limit <= 0) {
      return 0;
    }
    long best = 0;
    long runLen = 0;
    int last = (int) ((limit - 1) >>> 6);
    for (int w = 0; w <= last; w++) {
      long free = clearBits(words, w, 0, limit, 0, last);
      if (free == 0) {
        best = Math.max(best, runLen);
        runLen = 0;
        continue;
      }
      if (free == -1L) {
        runLen += 64;
        continue;
      }
      best = Math.max(best, runLen + Long.numberOfTrailingZeros(~free));
      while (best < 62 && runStarts(free, (int) best + 1) != 0) {
        best++;
      }
      runLen = Long.numberOfLeadingZeros(~free);
    }
    return Math.max(best, runLen);
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
