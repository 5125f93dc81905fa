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
 */
record SourceInventory(List<BlockRun> runs, long referencedBlocks, long allocatedDataBlocks, long liveInodes,
    long lastLiveInode, Map<Long, InodeRefs> inodesInRelocationZone) {}
