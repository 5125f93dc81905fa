package dev.vde.module.copy;

import dev.vde.alloc.AllocationBitmap;
import dev.vde.inode.InodeCodec;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;

/**
 * Everything decided before the first byte of the destination is written: where every referenced source block
 * goes, which inodes get new extents, which extent blocks are rebuilt, and the destination's bitmap. A copy that
 * cannot fit fails while planning, so nothing is ever written for it.
 *
 * @param transfers blocks copied unchanged, sorted by source block
 * @param rebuiltBlocks destination block to sealed XTNT content, for the chains of relocated inodes
 * @param patches inode number to its new extents, for relocated inodes
 * @param destBitmap the destination's allocation: its metadata, every transfer and every rebuilt block
 * @param blocksCopied source blocks carried over (transferred, or re-encoded into a rebuilt block)
 * @param blocksRelocated of those, the ones placed at another block number
 * @param extentBlocksAdded rebuilt blocks that replace no source block (relocation split extents)
 * @param tableFloor fewest inode-table blocks the destination initializes (see {@link #withTableBlocksAtLeast})
 */
record CopyPlan(DestinationGeometry geometry, SourceInventory inventory, List<Transfer> transfers,
    NavigableMap<Long, byte[]> rebuiltBlocks, Map<Long, InodePatch> patches, AllocationBitmap destBitmap,
    long blocksCopied, long blocksRelocated, long extentBlocksAdded, long tableFloor) {

  /**
   * Blocks of the inode table the destination initializes: up to the one holding the highest live inode, or
   * the floor if that is more.
   */
  long inodeTableInitBlocks() {
    return Math.max(tableFloor, inventory.lastLiveInode() / inodesPerBlock() + 1);
  }

  /**
   * This plan with at least {@code blocks} initialized inode-table blocks. A pre-copy wrote that many; had the
   * highest live inodes gone since, blocks past the new end would hold what the pre-copy wrote there, which
   * nothing must find in a table's uninitialized part. Kept initialized, they are rewritten as the source's
   * (their inodes' table blocks changed, so they are among the blocks the final pass writes), holding free
   * records: a valid table that is longer than it needs to be.
   */
  CopyPlan withTableBlocksAtLeast(long blocks) {
    return new CopyPlan(geometry, inventory, transfers, rebuiltBlocks, patches, destBitmap, blocksCopied,
        blocksRelocated, extentBlocksAdded, Math.max(tableFloor, blocks));
  }

  int inodesPerBlock() {
    return InodeCodec.perBlock(geometry.blockSize(), geometry.layout().inodeSize());
  }

  long transferredBlocks() {
    long n = 0;
    for (Transfer t : transfers) {
      n += t.count();
    }
    return n;
  }

  /** Every block the copy writes: two superblocks twice, region directory, bitmap, inode table and data. */
  long blocksToWrite() {
    return 4 + geometry.regionDirBlocks() + geometry.bitmapBlocks() + inodeTableInitBlocks() + transferredBlocks()
        + rebuiltBlocks.size();
  }
}
