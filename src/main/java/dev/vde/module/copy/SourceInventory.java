package dev.vde.module.copy;

import java.util.List;
import java.util.Map;

/**
 * What the scan of the source's inode table found.
 *
 * @param runs every block an inode references, sorted by block number, none overlapping another
 * @param referencedBlocks the blocks in {@code runs}
 * @param allocatedDataBlocks blocks the bitmap marks allocated outside the source's metadata; more than
 *     {@code referencedBlocks} only when blocks leaked (allocated, referenced by nothing), which are not copied
 * @param liveInodes inodes in use
 * @param lastLiveInode highest inode number in use (the root, 1, at least)
 * @param inodesInRelocationZone every inode with a block below the destination's metadata end, which relocation
 *     may rewrite
 * @param lastBlockTails the last data block of every file that ends inside one, sorted: the source block number
 *     shifted left by 16, or'ed with the file's bytes in it, past which the block must be zero (block numbers
 *     stay below 2^47, far past any volume whose bitmap a heap holds, so the values sort as they are)
 */
record SourceInventory(List<BlockRun> runs, long referencedBlocks, long allocatedDataBlocks, long liveInodes,
    long lastLiveInode, Map<Long, InodeRefs> inodesInRelocationZone, long[] lastBlockTails) {

  /** Bytes of its file in data block {@code block} when it is a file's partial last block, else 0. */
  int tailOf(long block) {
    int i = java.util.Arrays.binarySearch(lastBlockTails, block << 16);
    int at = i >= 0 ? i : -i - 1;
    return at < lastBlockTails.length && lastBlockTails[at] >>> 16 == block ? (int) (lastBlockTails[at] & 0xFFFF) : 0;
  }
}
