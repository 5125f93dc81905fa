package dev.vde.inode;

import java.util.AbstractList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.RandomAccess;

/**
 * An immutable extent list over an array, so that {@link ExtentMap} can splice a fragmented file's list with bulk
 * copies and {@link Inode} can keep such a list without copying it again.
 *
 * <p>Invariants: the array holds no null, is never written after construction and never escapes this package
 * (only {@link ExtentMap} reads it directly); {@code order} is {@link #UNKNOWN} or what {@link #order()} would
 * find. Because the content never changes, computing {@code order} lazily is a benign race, as with
 * {@link String#hashCode}.
 */
final class ExtentList extends AbstractList<Extent> implements RandomAccess {
  /** Not looked at yet. */
  static final byte UNKNOWN = 0;
  /** {@link ExtentMap#normalize} would return the list unchanged: it may be spliced, merging only at the seams. */
  static final byte NORMALIZED = 1;
  /** Sorted by logical block but not normalized: a merge needs no sort. */
  static final byte SORTED = 2;
  /** Not sorted by logical block. */
  static final byte UNSORTED = 3;

  static final ExtentList EMPTY = new ExtentList(new Extent[0], NORMALIZED);

  private final Extent[] a;
  private byte order;

  /** Takes {@code a} over: the caller must hold no other reference to it and must have left no null in it. */
  ExtentList(Extent[] a, byte order) {
    this.a = a;
    this.order = order;
  }

  /** {@code xs} itself when it is one of these, else an immutable copy; null elements are refused. */
  static ExtentList copyOf(Collection<? extends Extent> xs) {
    if (xs instanceof ExtentList l) {
      return l;
    }
    Object[] src = xs.toArray();
    if (src.length == 0) {
      return EMPTY;
    }
    Extent[] dst = new Extent[src.length];
    for (int i = 0; i < src.length; i++) {
      dst[i] = (Extent) Objects.requireNonNull(src[i]);
    }
    return new ExtentList(dst, UNKNOWN);
  }

  /** Elements {@code [from, to)} of {@code xs}, copied. */
  static ExtentList slice(List<Extent> xs, int from, int to) {
    Objects.checkFromToIndex(from, to, xs.size());
    if (from == to) {
      return EMPTY;
    }
    if (xs instanceof ExtentList l) {
      return new ExtentList(Arrays.copyOfRange(l.a, from, to), UNKNOWN);
    }
    return copyOf(xs.subList(from, to));
  }

  /** The parts one after another, copied once. */
  static ExtentList concat(List<? extends List<Extent>> parts) {
    int n = 0;
    for (List<Extent> p : parts) {
      n += p.size();
    }
    if (n == 0) {
      return EMPTY;
    }
    Extent[] dst = new Extent[n];
    int at = 0;
    for (List<Extent> p : parts) {
      if (p instanceof ExtentList l) {
        System.arraycopy(l.a, 0, dst, at, l.a.length);
        at += l.a.length;
      } else {
        for (Object o : p.toArray()) {
          dst[at++] = (Extent) Objects.requireNonNull(o);
        }
      }
    }
    if (at != n) {
      throw new java.util.ConcurrentModificationException("a part changed size while being copied");
    }
    return new ExtentList(dst, UNKNOWN);
  }

  /** The backing array, for bulk copies; never to be written or handed out. */
  Extent[] array() {
    return a;
  }

  /** Whether the list is known to be normalized, without looking if that is not known yet. */
  boolean knownNormalized() {
    return order == NORMALIZED;
  }

  /** Records what a pass over the list found, so that {@link #order()} need not look again. */
  void learn(byte found) {
    order = found;
  }

  /** {@link #NORMALIZED}, {@link #SORTED} or {@link #UNSORTED}; found by one pass the first time it is asked. */
  byte order() {
    byte o = order;
    if (o == UNKNOWN) {
      o = scan(a);
      order = o;
    }
    return o;
  }

  private static byte scan(Extent[] a) {
    boolean normalized = true;
    Extent prev = null;
    for (Extent e : a) {
      if (e.count() <= 0) {
        normalized = false;
      }
      if (prev != null) {
        if (e.logical() < prev.logical()) {
          return UNSORTED;
        }
        if (ExtentMap.continues(prev, e)) {
          normalized = false;
        }
      }
      prev = e;
    }
    return normalized ? NORMALIZED : SORTED;
  }

  @Override
  public Extent get(int index) {
    return a[Objects.checkIndex(index, a.length)];
  }

  @Override
  public int size() {
    return a.length;
  }

  @Override
  public Object[] toArray() {
    return Arrays.copyOf(a, a.length, Object[].class);
  }

  @Override
  @SuppressWarnings("unchecked")
  public <T> T[] toArray(T[] dst) {
    if (dst.length < a.length) {
      return (T[]) Arrays.copyOf(a, a.length, dst.getClass());
    }
    System.arraycopy(a, 0, dst, 0, a.length);
    if (dst.length > a.length) {
      dst[a.length] = null;
    }
    return dst;
  }
}
