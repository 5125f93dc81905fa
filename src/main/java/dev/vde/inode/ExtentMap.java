package dev.vde.inode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Pure operations on a file's extent list (sorted by logical block, non-overlapping). Logical blocks no extent
 * covers are holes and read as zeros.
 *
 * <p>A positional write into a fragmented file unmaps a few blocks and maps their new places into a list of tens of
 * thousands of extents, so {@link #unmap} and {@link #map} find the place by binary search and copy the untouched
 * rest in bulk instead of walking, sorting or merging the whole list. Their results are immutable and equal to
 * what the straightforward algorithms give: {@code unmap} to a walk over every extent, {@code map} to
 * {@code normalize(xs + added)}. {@code map} may merge at the seams only because a list {@link #normalize} would
 * leave unchanged has no other extents to merge; every list remembers whether it is one (see
 * {@link ExtentList}), and one that is not (a list written by another implementation, say) is merged in full.
 */
public final class ExtentMap {
  private static final Comparator<Extent> BY_LOGICAL = Comparator.comparingLong(Extent::logical);

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
    s.sort(BY_LOGICAL);
    List<Extent> out = new ArrayList<>();
    for (Extent e : s) {
      if (e.count() <= 0) {
        continue;
      }
      if (!out.isEmpty()) {
        Extent last = out.get(out.size() - 1);
        if (continues(last, e)) {
          out.set(out.size() - 1, merged(last, e));
          continue;
        }
      }
      out.add(e);
    }
    return out;
  }

  /** Whether {@link #normalize} merges {@code e} into {@code last} when it comes right after it. */
  static boolean continues(Extent last, Extent e) {
    return last.logicalEnd() == e.logical() && last.end() == e.start()
        && (long) last.count() + e.count() <= Integer.MAX_VALUE;
  }

  private static Extent merged(Extent last, Extent e) {
    return new Extent(last.logical(), last.start(), last.count() + e.count());
  }

  /** An immutable list of the parts one after another, copied once (the inline extents and a chain's blocks). */
  public static List<Extent> concat(List<? extends List<Extent>> parts) {
    return ExtentList.concat(parts);
  }

  /** An immutable copy of extents {@code [from, to)} of {@code xs} (the part of a list one chain block holds). */
  public static List<Extent> slice(List<Extent> xs, int from, int to) {
    return ExtentList.slice(xs, from, to);
  }

  /**
   * Index of the first extent that breaks the rules for an inode's list (a positive count, a start past block 0
   * with the run inside the volume's {@code totalBlocks}, a logical start at or past the previous extent's end),
   * or -1 if none does. Every read of an inode runs this over the whole list, so it is one pass over the array,
   * and that pass also tells a list of this class whether it is normalized, which {@link #map} then need not
   * find out with a pass of its own.
   */
  public static int firstInvalid(List<Extent> xs, long totalBlocks) {
    if (!(xs instanceof ExtentList l)) {
      long prevEnd = 0;
      for (int i = 0, n = xs.size(); i < n; i++) {
        Extent e = xs.get(i);
        if (invalid(e, prevEnd, totalBlocks)) {
          return i;
        }
        prevEnd = e.logical() + e.count();
      }
      return -1;
    }
    Extent[] a = l.array();
    long prevEnd = 0;
    boolean sorted = true;
    boolean normalized = true;
    Extent prev = null;
    for (int i = 0; i < a.length; i++) {
      Extent e = a[i];
      if (invalid(e, prevEnd, totalBlocks)) {
        return i;
      }
      if (prev != null) {
        // Sorted unless an end so far out that it wrapped around let a smaller start through.
        sorted &= e.logical() >= prev.logical();
        normalized &= !continues(prev, e);
      }
      prevEnd = e.logical() + e.count();
      prev = e;
    }
    // Every count is positive here, so the list is normalized when sorted and no neighbours would merge.
    l.learn(!sorted ? ExtentList.UNSORTED : normalized ? ExtentList.NORMALIZED : ExtentList.SORTED);
    return -1;
  }

  private static boolean invalid(Extent e, long prevEnd, long totalBlocks) {
    long start = e.start();
    int count = e.count();
    // Ends compared without overflow: a physical start near Long.MAX_VALUE would otherwise wrap past the volume
    // check, and a logical end past Long.MAX_VALUE would let a lower extent through after it.
    return count <= 0 || start <= 0 || start > totalBlocks - count || e.logical() < prevEnd
        || e.logical() > Long.MAX_VALUE - count;
  }

  /**
   * Removes the mapping of logical blocks {@code [from, to)}; the physical runs that were mapped there are
   * added to {@code freed} as {start, count}, in logical order. {@code xs} must be sorted by logical block,
   * non-overlapping and without empty extents, as every inode's list is. Returns an immutable list.
   */
  public static List<Extent> unmap(List<Extent> xs, long from, long to, List<long[]> freed) {
    ExtentList src = ExtentList.copyOf(xs);
    Extent[] a = src.array();
    int n = a.length;
    // In such a list both the starts and the ends increase, so the extents that meet [from, to) are a run.
    int lo = firstEndingAfter(a, from);
    int hi = firstStartingAt(a, to);
    if (from >= to || lo >= hi) {
      return src;
    }
    Extent first = a[lo];
    Extent last = a[hi - 1];
    boolean head = first.logical() < from;
    boolean tail = last.logicalEnd() > to;
    Extent[] out = new Extent[lo + (head ? 1 : 0) + (tail ? 1 : 0) + (n - hi)];
    System.arraycopy(a, 0, out, 0, lo);
    int k = lo;
    // A piece keeps its extent's outer neighbour and outer edge, and the extents either side of the gap do not
    // touch; but a piece is shorter than its extent, so it may merge where the whole extent would have been
    // too long to. Only that can make a normalized list stop being one.
    boolean normalized = src.knownNormalized();
    if (head) {
      out[k++] = new Extent(first.logical(), first.start(), (int) (from - first.logical()));
      normalized &= lo == 0 || !continues(a[lo - 1], out[k - 1]);
    }
    for (int i = lo; i < hi; i++) {
      Extent e = a[i];
      long s = Math.max(e.logical(), from);
      long f = Math.min(e.logicalEnd(), to);
      freed.add(new long[] {e.start() + (s - e.logical()), f - s});
    }
    if (tail) {
      out[k++] = new Extent(to, last.start() + (to - last.logical()), (int) (last.logicalEnd() - to));
      normalized &= hi == n || !continues(out[k - 1], a[hi]);
    }
    System.arraycopy(a, hi, out, k, n - hi);
    return new ExtentList(out, normalized ? ExtentList.NORMALIZED : ExtentList.UNKNOWN);
  }

  /** Index of the first extent ending after {@code l} ({@code a.length} if none). */
  private static int firstEndingAfter(Extent[] a, long l) {
    int lo = 0;
    int hi = a.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (a[mid].logicalEnd() > l) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }

  /** Index of the first extent starting at or after {@code l} ({@code a.length} if none). */
  private static int firstStartingAt(Extent[] a, long l) {
    int lo = 0;
    int hi = a.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (a[mid].logical() >= l) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }

  /** Index of the first extent starting after {@code l} ({@code a.length} if none). */
  private static int firstStartingAfter(Extent[] a, long l) {
    return l == Long.MAX_VALUE ? a.length : firstStartingAt(a, l + 1);
  }

  /**
   * Maps {@code added} (which must cover only unmapped logical blocks) into the list. Returns an immutable list
   * equal to {@code normalize(xs + added)}.
   */
  public static List<Extent> map(List<Extent> xs, List<Extent> added) {
    ExtentList src = ExtentList.copyOf(xs);
    Extent[] add = live(added);
    byte order = src.order();
    if (add.length == 0 && order == ExtentList.NORMALIZED) {
      return src;
    }
    Extent[] a = src.array();
    if (order == ExtentList.NORMALIZED) {
      // normalize's stable sort puts extents of xs first among equal starts, so added goes in before index i.
      int i = firstStartingAfter(a, add[0].logical());
      if (i == a.length || a[i].logical() > add[add.length - 1].logical()) {
        return splice(a, i, add);
      }
    }
    if (order != ExtentList.UNSORTED) {
      return mergeAll(a, add);
    }
    List<Extent> all = new ArrayList<>(xs);
    all.addAll(added);
    return new ExtentList(normalize(all).toArray(new Extent[0]), ExtentList.NORMALIZED);
  }

  /**
   * The extents of {@code added} that normalize keeps (those with a positive count), ordered as its stable sort
   * orders them; only {@code added}, which is short, is ever sorted.
   */
  private static Extent[] live(List<Extent> added) {
    Extent[] out = new Extent[added.size()];
    int n = 0;
    boolean sorted = true;
    for (Extent e : added) {
      if (e.count() > 0) {
        if (n > 0 && e.logical() < out[n - 1].logical()) {
          sorted = false;
        }
        out[n++] = e;
      }
    }
    if (n < out.length) {
      out = Arrays.copyOf(out, n);
    }
    if (!sorted) {
      Arrays.sort(out, BY_LOGICAL);
    }
    return out;
  }

  /**
   * Puts {@code add} (non-empty) between {@code a[i - 1]} and {@code a[i]} of a normalized list. normalize would
   * merge nothing before {@code a[i - 1]}, and after {@code a[i]} nothing either: an extent grown by merging
   * {@code a[i]} ends where {@code a[i]} ends and is longer, so it does not merge with {@code a[i + 1]} when
   * {@code a[i]} does not. Only the seams from {@code a[i - 1]} to {@code a[i]} are folded; the rest is copied.
   */
  private static ExtentList splice(Extent[] a, int i, Extent[] add) {
    Extent[] seam = new Extent[add.length + 2];
    int m = 0;
    int before = i > 0 ? i - 1 : 0;
    int after = i;
    if (i > 0) {
      seam[m++] = a[i - 1];
    }
    for (Extent e : add) {
      m = fold(seam, m, e);
    }
    if (i < a.length) {
      m = fold(seam, m, a[i]);
      after = i + 1;
    }
    Extent[] out = new Extent[before + m + (a.length - after)];
    System.arraycopy(a, 0, out, 0, before);
    System.arraycopy(seam, 0, out, before, m);
    System.arraycopy(a, after, out, before + m, a.length - after);
    return new ExtentList(out, ExtentList.NORMALIZED);
  }

  /** normalize for a sorted {@code a} and {@code add}: one merging pass, extents of {@code a} first on ties. */
  private static ExtentList mergeAll(Extent[] a, Extent[] add) {
    Extent[] out = new Extent[a.length + add.length];
    int m = 0;
    int i = 0;
    int j = 0;
    while (i < a.length || j < add.length) {
      Extent e = j == add.length || (i < a.length && a[i].logical() <= add[j].logical()) ? a[i++] : add[j++];
      if (e.count() > 0) {
        m = fold(out, m, e);
      }
    }
    return new ExtentList(m == out.length ? out : Arrays.copyOf(out, m), ExtentList.NORMALIZED);
  }

  /** Appends {@code e} to {@code out[0, m)} as normalize does; returns the new length. */
  private static int fold(Extent[] out, int m, Extent e) {
    if (m > 0 && continues(out[m - 1], e)) {
      out[m - 1] = merged(out[m - 1], e);
      return m;
    }
    out[m] = e;
    return m + 1;
  }

  /**
   * The first logical block at or after {@code from} that {@code xs} (sorted, not overlapping) maps, or
   * {@link Long#MAX_VALUE}: a binary search, so that stepping over the holes of a file of tens of thousands of
   * extents does not scan them all per hole.
   */
  public static long nextMapped(List<Extent> xs, long from) {
    int lo = 0;
    int hi = xs.size();
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (xs.get(mid).logicalEnd() <= from) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo == xs.size() ? Long.MAX_VALUE : Math.max(from, xs.get(lo).logical());
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
