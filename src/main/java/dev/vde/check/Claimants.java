package dev.vde.check;

import dev.vde.alloc.FreeSpaceScanner;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.function.Supplier;

/**
 * Names the owners of suspicious blocks (claimed twice, or referenced but free). The reference bitmap records
 * that a block is referenced, not by whom; rather than keep an owner per block, the content phase offers every
 * claim again and only those touching a suspicious block are kept, so memory follows the damage, not the volume.
 */
final class Claimants {
  private record Claim(long start, long end, String label) {}

  private final long[] suspicious;
  private final long totalBlocks;
  private final List<Claim> claims = new ArrayList<>();
  private long longest;
  private boolean sorted;

  /** {@code suspicious} has a bit for each block whose owners should be named. */
  Claimants(long[] suspicious, long totalBlocks) {
    this.suspicious = suspicious;
    this.totalBlocks = totalBlocks;
  }

  /** Records {@code label} as an owner of {@code [start, start+count)} if that run holds a suspicious block. */
  void offer(long start, long count, Supplier<String> label) {
    if (count <= 0) {
      return;
    }
    long from = Math.max(0, start);
    long to = start <= totalBlocks - count ? start + count : totalBlocks;
    if (from >= to || FreeSpaceScanner.nextSet(suspicious, from, to) >= to) {
      return;
    }
    claims.add(new Claim(from, to, label.get()));
    longest = Math.max(longest, to - from);
    sorted = false;
  }

  /** Owners of any block of {@code [start, start+count)}, in block order, each named once. */
  List<String> of(long start, long count) {
    if (!sorted) {
      claims.sort(Comparator.comparingLong(Claim::start));
      sorted = true;
    }
    long end = start + count;
    // Claims are sorted by start and none is longer than 'longest', so only those starting in
    // [start - longest, end) can overlap; find the first of them by binary search.
    int lo = 0;
    int hi = claims.size();
    long from = start - longest;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (claims.get(mid).start() < from) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    LinkedHashSet<String> out = new LinkedHashSet<>();
    for (int i = lo; i < claims.size() && claims.get(i).start() < end; i++) {
      Claim c = claims.get(i);
      if (c.end() > start) {
        out.add(c.label());
      }
    }
    return new ArrayList<>(out);
  }
}
