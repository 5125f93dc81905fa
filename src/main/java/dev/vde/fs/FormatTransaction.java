package dev.vde.fs;

import dev.vde.VdeNoSpaceException;
import dev.vde.format.BlockType;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import java.io.IOException;

/**
 * A metadata transaction that changes the volume's format: superblock fields (manifest, layout, feature
 * masks), the region directory, block allocation, and whole metadata blocks. Module addition and inode
 * migration build on it; ordinary file operations never see it. Everything done through one instance commits
 * atomically through the WAL, or not at all.
 */
public final class FormatTransaction {
  private final Txn t;

  FormatTransaction(Txn t) {
    this.t = t;
  }

  public Superblock superblock() {
    return t.sb;
  }

  /** Replaces the superblock; free and used counts are recomputed at commit. */
  public void setSuperblock(Superblock sb) {
    t.sb = sb;
  }

  public RegionDirectory regions() {
    return t.regions;
  }

  public void setRegions(RegionDirectory rd) {
    t.regions = rd;
    t.regionsChanged = true;
  }

  /** Reserves exactly {@code count} contiguous blocks (first fit); marks them allocated at commit. */
  public long allocateContiguous(long count) throws IOException {
    long s = t.allocateFirstFit(count);
    if (s < 0) {
      throw new VdeNoSpaceException("no contiguous run of " + count + " free blocks (largest is "
          + t.vol.bitmap().largestFreeRun() + ")");
    }
    return s;
  }

  /**
   * Makes the blocks freed since the last checkpoint allocatable now, as an allocation that runs short would. A
   * series of contiguous allocations planned on {@link Volume#plannableWords} (which counts those blocks as free)
   * needs them from its first allocation on: otherwise that one may take a run the plan kept for a later one, which
   * then finds no room although the plan did.
   */
  public void reclaimFreedBlocks() throws IOException {
    t.vol.reclaimFreedBlocks();
  }

  /** Marks blocks of a region being removed free at commit; they become reusable after the next checkpoint. */
  public void free(long start, long count) {
    t.freeRegion(start, count);
  }

  /** Reads a metadata block as this transaction sees it. */
  public byte[] read(long blockNo, BlockType type) throws IOException {
    return t.read(blockNo, type);
  }

  /** Replaces a metadata block's content (sealed with {@code type} and {@code generation} at commit). */
  public void put(long blockNo, BlockType type, int generation, byte[] content) {
    t.put(blockNo, type, generation, content);
  }

  /** Runs {@code r} when the transaction is published (in-memory state switches with it). */
  public void onPublish(Runnable r) {
    t.onPublish.add(r);
  }
}
