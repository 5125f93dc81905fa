package dev.vde.module.copy;

import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.InodeLayout;
import dev.vde.inode.InodeCodec;
import dev.vde.inode.InodeConverter;
import dev.vde.io.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Second pass over the source's inode table: converts every record into the destination's layout with
 * {@link InodeConverter} (module fields both layouts have move to their new offsets, new ones are zero, free
 * records become zero) and writes whole destination inode-table blocks in order, from the first to the one
 * holding the highest live inode, which is where the destination's {@code inodeTableInitBlocks} ends. Relocated
 * inodes get their new extents on the way. Source blocks are read once each, in order, since both tables are
 * sorted by inode number.
 */
final class InodeTableWriter {
  /** Destination blocks per write. */
  private static final int BATCH_BLOCKS = 256;

  private final SourceView src;
  private final CopyPlan plan;
  private final BlockDevice dst;
  private final CopyContext cx;

  InodeTableWriter(SourceView src, CopyPlan plan, BlockDevice dst, CopyContext cx) {
    this.src = src;
    this.plan = plan;
    this.dst = dst;
    this.cx = cx;
  }

  /** Writes the destination's initialized inode-table blocks; returns how many. */
  long write() throws IOException {
    int bs = src.blockSize;
    InodeLayout from = src.sb.layout();
    InodeLayout to = plan.geometry().layout();
    InodeConverter converter = new InodeConverter(from, to);
    int srcPerBlock = InodeCodec.perBlock(bs, from.inodeSize());
    int dstPerBlock = plan.inodesPerBlock();
    long srcInitSlots = src.sb.inodeTableInitBlocks() * srcPerBlock;
    long inodeCount = plan.geometry().inodeCount();
    long blocks = plan.inodeTableInitBlocks();
    long srcTable = src.inodeTableStart();
    long dstTable = plan.geometry().inodeTableStart();
    int batch = (int) Math.min(BATCH_BLOCKS, blocks);
    byte[] out = new byte[batch * bs];
    byte[] block = new byte[bs];
    byte[] srcBlock = null;
    long srcBlockIndex = -1;
    long batchStart = 0;
    for (long d = 0; d < blocks; d++) {
      Arrays.fill(block, (byte) 0);
      for (int k = 0; k < dstPerBlock; k++) {
        long n = d * dstPerBlock + k;
        if (n == 0 || n >= inodeCount || n >= srcInitSlots) {
          continue;
        }
        if (n / srcPerBlock != srcBlockIndex) {
          srcBlockIndex = n / srcPerBlock;
          cx.io(1);
          srcBlock = src.readMetadata(srcTable + srcBlockIndex, BlockType.INODE_TABLE);
        }
        int dstOff = k * to.inodeSize();
        converter.convert(srcBlock, (int) (n % srcPerBlock) * from.inodeSize(), block, dstOff);
        InodePatch patch = plan.patches().get(n);
        if (patch != null) {
          patch.applyTo(block, dstOff, n, to);
        }
      }
      // The generation of an inode-table block is its index in the table, as the engine writes it.
      BlockCodec.seal(block, BlockType.INODE_TABLE, (int) d);
      System.arraycopy(block, 0, out, (int) (d - batchStart) * bs, bs);
      if (d - batchStart + 1 == batch || d + 1 == blocks) {
        int n = (int) (d - batchStart + 1);
        cx.io(n);
        dst.write((dstTable + batchStart) * bs, ByteBuffer.wrap(out, 0, n * bs));
        batchStart = d + 1;
        cx.progress("writing inode table", d + 1, blocks, "blocks");
      }
    }
    return blocks;
  }
}
