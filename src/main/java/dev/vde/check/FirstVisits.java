package dev.vde.check;

import java.util.Map;
import java.util.TreeMap;

/**
 * The physical blocks of one inode's extents not seen in an earlier extent of the same inode. A damaged inode can
 * name one run of blocks in thousands of extents (the inode phase reports the duplicate once); a walk that read
 * every extent's blocks would then read the run once per extent, extents × run length blocks, which for a few
 * kilobytes of damaged metadata on a 256 MiB volume came to some two terabytes. Walks that ask this first read
 * each block of an inode once, at the cost of one interval per distinct run.
 */
final class FirstVisits {
  /** Covered intervals, start → end (exclusive), disjoint and not touching. */
  private final TreeMap<Long, Long> covered = new TreeMap<>();

  /** What to do with each run of blocks not seen before: {@code start}, {@code count}, first index in the run. */
  @FunctionalInterface
  interface RunVisitor {
    void visit(long start, long count, long offset) throws java.io.IOException;
  }

  /**
   * Calls {@code v} for each maximal part of {@code [start, start + count)} not seen before, in order, with its
   * offset from {@code start}; then records the whole range as seen. Returns how many blocks were skipped.
   */
  long visit(long start, long count, RunVisitor v) throws java.io.IOException {
    long end = start + count;
    long pos = start;
    long skipped = 0;
    while (pos < end) {
      Map.Entry<Long, Long> before = covered.floorEntry(pos);
      if (before != null && before.getValue() > pos) {
        long next = Math.min(end, before.getValue());
        skipped += next - pos;
        pos = next;
        continue;
      }
      Long after = covered.higherKey(pos);
      long stop = after == null ? end : Math.min(end, after);
      v.visit(pos, stop - pos, pos - start);
      pos = stop;
    }
    add(start, end);
    return skipped;
  }

  private void add(long start, long end) {
    Map.Entry<Long, Long> before = covered.floorEntry(start);
    if (before != null && before.getValue() >= start) {
      start = before.getKey();
      end = Math.max(end, before.getValue());
    }
    Map.Entry<Long, Long> next;
    while ((next = covered.ceilingEntry(start)) != null && next.getKey() <= end) {
      end = Math.max(end, next.getValue());
      covered.remove(next.getKey());
    }
    covered.put(start, end);
  }
}
