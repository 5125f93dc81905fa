package dev.vde.fs;

import dev.vde.VdeInvalidArgumentException;
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

  /**
   * Replaces the superblock; free and used counts are recomputed at commit. Its geometry (block size, block count,
   * identity, creation time, the places of the region directory and the WAL) must stay as it is: recovery treats a
   * WAL transaction carrying another geometry as not committed, so such a change, acknowledged, would be lost in a
   * crash together with every transaction after it.
   */
  public void setSuperblock(Superblock sb) throws VdeInvalidArgumentException {
    java.util.Objects.requireNonNull(sb, "superblock");
    Superblock cur = t.sb;
    if (sb.blockSize() != cur.blockSize() || sb.totalBlocks() != cur.totalBlocks() || !sb.uuid().equals(cur.uuid())
        || sb.createdMillis() != cur.createdMillis() || sb.regionDirStart() != cur.regionDirStart()
        || sb.regionDirBlocks() != cur.regionDirBlocks() || sb.walStart() != cur.walStart()
        || sb.walBlocks() != cur.walBlocks()) {
      throw new VdeInvalidArgumentException("a format change cannot change the volume's geometry (block size, block "
          + "count, identity, creation time, or where the region directory and the WAL lie)");
    }
    t.sb = sb;
  }

  public RegionDirectory regions() {
    return t.regions;
  }

  public void setRegions(RegionDirectory rd) {
    java.util.Objects.requireNonNull(rd, "regions");
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

  /**
   * A copy of a metadata block as this transaction sees it; to change the block, {@link #put} the changed copy.
   * A copy, since the block itself may be the journal's published image, which every reader of the volume is
   * served: changed in place, readers in other threads would see the change before it commits (or though it never
   * does), and the WAL write of the transaction that published it would carry it unchecked.
   */
  public byte[] read(long blockNo, BlockType type) throws IOException {
    java.util.Objects.requireNonNull(type, "type");
    return t.read(blockNo, type).clone();
  }

  /**
   * Replaces a metadata block's content (sealed with {@code type} and {@code generation} at commit). Not a
   * superblock (use {@link #setSuperblock}), a block of the WAL or one past the end: recovery treats a WAL
   * transaction with such an image as not committed (its checkpoint would write the WAL over itself), so it would be
   * acknowledged and then lost in a crash together with every transaction after it.
   */
  public void put(long blockNo, BlockType type, int generation, byte[] content) throws VdeInvalidArgumentException {
    // Checked here: a null type used to fail the commit, after the work had returned.
    java.util.Objects.requireNonNull(type, "type");
    Superblock sb = t.sb;
    String why = blockNo < 2 ? "a superblock slot (change the superblock with setSuperblock)"
        : blockNo >= sb.totalBlocks() ? "past the end of the volume (" + sb.totalBlocks() + " blocks)"
        : blockNo >= sb.walStart() && blockNo < sb.walStart() + sb.walBlocks() ? "in the metadata WAL" : null;
    if (why != null) {
      throw new VdeInvalidArgumentException("a format change cannot write block " + blockNo + ": it is " + why);
    }
    if (content == null || content.length != t.vol.blockSize()) {
      throw new VdeInvalidArgumentException("block " + blockNo + ": content must be one block of "
          + t.vol.blockSize() + " bytes, not " + (content == null ? "null" : content.length + " bytes"));
    }
    t.put(blockNo, type, generation, content);
  }

  /** Runs {@code r} when the transaction is published (in-memory state switches with it). */
  public void onPublish(Runnable r) {
    // Checked here: at publish the transaction is committed, too late to refuse anything.
    java.util.Objects.requireNonNull(r, "action");
    t.onPublish.add(r);
  }
}
