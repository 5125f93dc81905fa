package dev.vde.inode;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Pure operations on a file's extent list (sorted by logical block, non-overlapping). Logical blocks no extent
 * covers are holes and read as zeros.
 */
public final class ExtentMap {
  private ExtentMap() {}

  /** Physical block of logical block {@code l}, or -1 for a hole. */
  public static long physical(List<Extent> xs, long l) {
    int lo = 0;
    int hi = xs.size() - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      Extent e = xs.get(mid);
      if (l < e.logical()) {
        hi = mid - 1;
      } else if (l >= e.logicalEnd()) {
        lo = mid + 1;
      } else {
        return e.start() + (l - e.logical());
      }
    }
    return -1;
  }

  /** Sorts and merges extents that continue each other both logically and physically. */
  public static List<Extent> normalize(List<Extent> xs) {
    List<Extent> s = new ArrayList<>(xs);
    s.sort(Comparator.comparingLong(Extent::logical));
    List<Extent> out = new ArrayList<>();
    for (Extent e : s) {
      if (e.count() <= 0) {
        continue;
      }
      if (!out.isEmpty()) {
        Extent last = out.get(out.size() - 1);
        if (last.logicalEnd() == e.logical() && last.end() == e.start()
            && (long) last.count() + e.count() <= Integer.MAX_VALUE) {
          out.set(out.size() - 1, new Extent(last.logical(), last.start(), last.count() + e.count()));
          continue;
        }
      }
      out.add(e);
    }
    return out;
  }

  /**
   * Removes the mapping of logical blocks {@code [from, to)}; the physical runs that were mapped there are
   * added to {@code freed} as {start, count}.
   */
  public static List<Extent> unmap(List<Extent> xs, long from, long to, List<long[]> freed) {
    List<Extent> out = new ArrayList<>();
    for (Extent e : xs) {
      long a = Math.max(e.logical(), from);
      long b = Math.min(e.logicalEnd(), to);
      if (a >= b) {
        out.add(e);
        continue;
      }
      if (e.logical() < a) {
        out.add(new Extent(e.logical(), e.start(), (int) (a - e.logical())));
      }
      freed.add(new long[] {e.start() + (a - e.logical()), b - a});
      if (b < e.logicalEnd()) {
        out.add(new Extent(b, e.start() + (b - e.logical()), (int) (e.logicalEnd() - b)));
      }
    }
    return out;
  }

  /** Maps {@code added} (which must cover only unmapped logical blocks) into the list. */
  public static List<Extent> map(List<Extent> xs, List<Extent> added) {
    List<Extent> all = new ArrayList<>(xs);
    all.addAll(added);
    return normalize(all);
  }

  /** Number of logical blocks mapped at or past {@code from}. */
  public static long mappedFrom(List<Extent> xs, long from) {
    long n = 0;
    for (Extent e : xs) {
      long a = Math.max(e.logical(), from);
      if (a < e.logicalEnd()) {
        n += e.logicalEnd() - a;
      }
    }
    return n;
  }
}
