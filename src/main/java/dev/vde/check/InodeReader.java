package dev.vde.check;

import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.Superblock;
import dev.vde.inode.Extent;
import dev.vde.inode.ExtentBlockCodec;
import dev.vde.inode.Inode;
import dev.vde.inode.InodeCodec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Decodes an inode record with its whole extent list, walking the indirect extent chain itself (instead of
 * {@code Volume.readInode}, which stops at the first inconsistency) so that every damaged chain block is reported
 * and the extents before the damage are still known. Deterministic for a given state, so later phases decode
 * again into a discarding sink rather than keeping extent lists in memory.
 */
final class InodeReader {
  static final String INODES = BlockType.INODE_TABLE.structure();
  static final String CHAIN = BlockType.EXTENT.structure();

  /** An extent and the block holding its record (the inode-table block, or the XTNT block for extents past 8). */
  record Located(Extent extent, long recordBlock) {}

  /**
   * A decoded inode: the core fields (its extent list holds the inline extents only), every extent found, and
   * the chain blocks walked. {@code chainComplete} is false when the chain broke off before its stated count.
   */
  record Decoded(Inode inode, List<Located> extents, List<Long> chainBlocks, boolean chainComplete) {}

  private final CheckContext cx;

  InodeReader(CheckContext cx) {
    this.cx = cx;
  }

  /** Decodes the in-use inode {@code n} stored at {@code off} of inode-table block {@code blockNo}. */
  Decoded decode(byte[] table, int off, long n, long blockNo, Problems out) throws IOException {
    Inode ino = InodeCodec.read(table, off, n, cx.sb.layout());
    long count = InodeCodec.storedExtentCount(table, off);
    List<Located> xs = new ArrayList<>();
    for (Extent e : ino.extents()) {
      xs.add(new Located(e, blockNo));
    }
    List<Long> chain = new ArrayList<>();
    boolean complete = true;
    if (count > cx.totalBlocks) {
      // More extents than blocks cannot be right, and walking such a count would only read garbage.
      out.add(blockNo, INODES, "inode " + n + " claims " + Text.num(count) + " extents, more than the volume's "
          + Text.num(cx.totalBlocks) + " blocks");
      complete = false;
    } else if (count > Inode.INLINE_EXTENTS) {
      complete = walkChain(n, ino.indirectBlock(), count - Inode.INLINE_EXTENTS, blockNo, xs, chain, out);
    } else if (ino.indirectBlock() != 0) {
      out.add(blockNo, INODES, "inode " + n + " has " + count + " extents, all inline, but names indirect block "
          + Text.num(ino.indirectBlock()) + " (expected 0)");
    }
    return new Decoded(ino, xs, chain, complete);
  }

  /**
   * Walks the chain of XTNT blocks from {@code first}, appending its extents to {@code xs}; returns true when
   * exactly {@code expected} extents were found. Stops at the first block that is out of range, seen before (a
   * loop) or damaged. A block whose trailer names another owner is reported but still followed: only its
   * generation may be wrong, and its extents are the best knowledge there is of what the inode maps.
   */
  private boolean walkChain(long n, long first, long expected, long tableBlock, List<Located> xs, List<Long> chain,
      Problems out) throws IOException {
    Set<Long> seen = new HashSet<>();
    long per = ExtentBlockCodec.perBlock(cx.blockSize);
    // Every block holds at least one extent; unless the volume allows loose chains, all but the last are full.
    boolean loose = (cx.sb.incompat() & Superblock.INCOMPAT_LOOSE_EXTENT_CHAINS) != 0;
    long maxBlocks = loose ? expected : (expected + per - 1) / per;
    long got = 0;
    long next = first;
    long from = tableBlock;
    while (got < expected) {
      String who = "extent chain of inode " + n;
      if (next <= 0 || next >= cx.totalBlocks) {
        out.add(from, from == tableBlock ? INODES : CHAIN, who + " ends after " + got + " of " + expected
            + " indirect extents: next block " + Text.num(next) + " lies outside 1.." + Text.num(cx.totalBlocks - 1));
        return false;
      }
      if (!seen.add(next) || chain.size() >= maxBlocks) {
        out.add(from, from == tableBlock ? INODES : CHAIN, who + " loops or runs on: block " + Text.num(next)
            + " would be chain block " + (chain.size() + 1) + " although " + expected + " extents fit in "
            + maxBlocks + (loose ? "" : " (full blocks: the volume does not allow loose chains)"));
        return false;
      }
      byte[] b;
      try {
        b = cx.journal().read(next, BlockType.EXTENT);
      } catch (VdeCorruptedException e) {
        out.add(e, who + ", chain block " + chain.size());
        // The inode still references the block, so it is counted as referenced (not leaked).
        chain.add(next);
        return false;
      }
      int gen = BlockCodec.storedGeneration(b);
      if (gen != (int) n) {
        out.add(next, CHAIN, "chain block " + chain.size() + " of inode " + n + " has trailer generation "
            + Integer.toUnsignedLong(gen) + ", expected the owner " + n);
      }
      ExtentBlockCodec.Decoded d;
      try {
        d = ExtentBlockCodec.read(b, next, cx.resource);
      } catch (VdeCorruptedException e) {
        out.add(e, who);
        chain.add(next);
        return false;
      }
      chain.add(next);
      if (d.extents().isEmpty()) {
        out.add(next, CHAIN, "chain block " + (chain.size() - 1) + " of inode " + n + " holds no extents");
        return false;
      }
      checkReservedBytes(b, n, next, chain.size() - 1, Inode.INLINE_EXTENTS + got, d.extents().size(), out);
      for (Extent e : d.extents()) {
        xs.add(new Located(e, next));
      }
      if (!loose && d.extents().size() < per && got + d.extents().size() < expected) {
        out.add(next, CHAIN, "chain block " + (chain.size() - 1) + " of inode " + n + " holds "
            + d.extents().size() + " of " + per + " extents but is not the last, and the superblock lacks "
            + "INCOMPAT_LOOSE_EXTENT_CHAINS");
      }
      got += d.extents().size();
      from = next;
      next = d.next();
    }
    if (got != expected) {
      out.add(first, CHAIN, "extent chain of inode " + n + " holds " + got + " extents, the inode says " + expected);
    }
    if (next != 0) {
      out.add(from, CHAIN, "last block of the extent chain of inode " + n + " points on to block " + Text.num(next)
          + " (expected 0)");
    }
    return got == expected;
  }

  /**
   * The bytes of a chain block that hold no extent must be zero: its header's reserved word, each extent's
   * reserved word, and everything after the last extent (where a stale extent would otherwise go unnoticed).
   */
  private void checkReservedBytes(byte[] b, long n, long blockNo, int index, long firstExtent, int count,
      Problems out) {
    String block = "chain block " + index + " of inode " + n;
    if (!Bytes.isZero(b, 4, 4)) {
      out.add(blockNo, CHAIN, block + " has non-zero reserved bytes 4..7");
    }
    for (int k = 0; k < count; k++) {
      if (!Bytes.isZero(b, ExtentBlockCodec.HEADER_SIZE + k * Extent.SIZE + 20, 4)) {
        out.add(blockNo, CHAIN, "inode " + n + " extent " + (firstExtent + k) + " (in " + block + ") has non-zero "
            + "reserved bytes 20..23");
      }
    }
    int end = ExtentBlockCodec.HEADER_SIZE + count * Extent.SIZE;
    if (!Bytes.isZero(b, end, cx.payload - end)) {
      out.add(blockNo, CHAIN, block + " has non-zero bytes " + end + ".." + (cx.payload - 1) + " after its extents");
    }
  }
}
