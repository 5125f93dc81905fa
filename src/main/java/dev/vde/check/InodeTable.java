package dev.vde.check;

import dev.vde.format.RegionDirectory;
import dev.vde.inode.InodeCodec;

/**
 * Geometry of the inode table: where inode {@code n}'s record lives. Only the first {@code initBlocks} blocks
 * were ever written; inodes past them are free by definition (their blocks are all zero and are not read).
 */
record InodeTable(long start, long blocks, int inodeSize, int perBlock, long initBlocks, long inodeCount) {

  /**
   * The table of the published state, or null when the region directory has no usable inode table or inodes do
   * not fit in a block.
   */
  static InodeTable of(CheckContext cx) {
    RegionDirectory.Entry e = cx.regions.find(RegionDirectory.TAG_INODES);
    if (e == null || !cx.inVolume(e.start(), e.blocks())) {
      // Reported by the region checks; reading where such an entry points could fail outside the device.
      return null;
    }
    int ipb = cx.sb.inodeSize() <= 0 ? 0 : InodeCodec.perBlock(cx.blockSize, cx.sb.inodeSize());
    if (ipb <= 0) {
      return null;
    }
    long init = Math.max(0, Math.min(cx.sb.inodeTableInitBlocks(), e.blocks()));
    return new InodeTable(e.start(), e.blocks(), cx.sb.inodeSize(), ipb, init, cx.sb.inodeCount());
  }

  long blockOf(long n) {
    return start + n / perBlock;
  }

  int offsetOf(long n) {
    return (int) (n % perBlock) * inodeSize;
  }

  /** Inode numbers {@code 0..slots()-1} live in initialized blocks. */
  long slots() {
    return Math.min(inodeCount, initBlocks * perBlock);
  }
}
