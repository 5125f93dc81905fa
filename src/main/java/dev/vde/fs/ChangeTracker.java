package dev.vde.fs;

import dev.vde.VdeException;
import dev.vde.alloc.AllocationBitmap;
import dev.vde.alloc.FreeSpaceScanner;

/**
 * What changed in a volume since one reader of it (a live copy) began to look: every block handed back to the
 * allocator and every metadata block a transaction published new content for, one bit each. File data is never
 * rewritten in place, so a data block can hold other bytes only after it was freed, released (recorded here) and
 * allocated again; metadata (inode-table, directory and extent blocks) changes only through transactions, recorded
 * here as they publish. Each reader has its own tracker ({@link Volume#startTracking}), so two copies of one
 * volume at once do not clear or end each other's record. Guarded by the volume's writer lock, under which
 * releases and publishes happen.
 */
public final class ChangeTracker {
  private final long[] released;
  private final long[] rewritten;

  ChangeTracker(long totalBlocks) throws VdeException {
    int words = (int) ((totalBlocks + 63) >>> 6);
    String what = "a live copy's record of changed blocks of a volume of " + totalBlocks + " blocks";
    this.released = AllocationBitmap.words(words, 16L * words, what);
    this.rewritten = AllocationBitmap.words(words, 16L * words, what);
  }

  void released(long start, long count) {
    FreeSpaceScanner.setRange(released, start, count, true);
  }

  void rewritten(long block) {
    FreeSpaceScanner.setRange(rewritten, block, 1, true);
  }

  /** Blocks released since tracking began; the caller holds the writer lock. */
  public long[] releasedBlocks() throws VdeException {
    return AllocationBitmap.copyOf(released, "a live copy's record of released blocks");
  }

  /** Metadata blocks given new content since tracking began; the caller holds the writer lock. */
  public long[] rewrittenBlocks() throws VdeException {
    return AllocationBitmap.copyOf(rewritten, "a live copy's record of rewritten blocks");
  }
}
