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
 */
record CopyPlan(DestinationGeometry geometry, SourceInventory inventory, List<Transfer> transfers,
    NavigableMap<Long, byte[]> rebuiltBlocks, Map<Long, InodePatch> patches, AllocationBitmap destBitmap,
    long blocksCopied, long blocksRelocated, long extentBlocksAdded) {

  /** Blocks of the inode table the destination initializes: up to the one holding the highest live inode. */
  long inodeTableInitBlocks() {
    return inventory.lastLiveInode() / inodesPerBlock() + 1;
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
