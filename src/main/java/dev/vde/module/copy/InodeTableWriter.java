package dev.vde.module.copy;

import dev.vde.VdeCorruptedException;
import dev.vde.alloc.FreeSpaceScanner;
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
 *
 * <p>For a source in use, the table is written twice: first during the pre-copy, while writers run
 * ({@link #preCopy}: a source block that fails its check, being rewritten under the read, leaves the destination
 * blocks it feeds for later), then in the final pass only the destination blocks that may be stale
 * ({@link #stillToWrite}), so that the pause does not grow with the size of the table.
 */
final class InodeTableWriter {
  /** Destination blocks per write. */
  private static final int BATCH_BLOCKS = 256;

  private final SourceView src;
  private final CopyPlan plan;
  private final BlockDevice dst;
  private final CopyContext cx;
  private final String phase;
  private final int bs;
  private final InodeLayout from;
  private final InodeLayout to;
  private final InodeConverter converter;
  private final int srcPerBlock;
  private final int dstPerBlock;
  /** Source blocks per read when only some destination blocks are written: no long runs for isolated blocks. */
  private static final int SPARSE_BATCH_BLOCKS = 8;

  private TableReader table;
  private byte[] srcBlock;
  private int srcBlockOff;
  private long srcBlockIndex = -1;

  InodeTableWriter(SourceView src, CopyPlan plan, BlockDevice dst, CopyContext cx) {
    this(src, plan, dst, cx, "writing inode table");
  }

  private InodeTableWriter(SourceView src, CopyPlan plan, BlockDevice dst, CopyContext cx, String phase) {
    this.src = src;
    this.plan = plan;
    this.dst = dst;
    this.cx = cx;
    this.phase = phase;
    this.bs = src.blockSize;
    this.from = src.sb.layout();
    this.to = plan.geometry().layout();
    this.converter = new InodeConverter(from, to);
    this.srcPerBlock = InodeCodec.perBlock(bs, from.inodeSize());
    this.dstPerBlock = plan.inodesPerBlock();
  }

  /** Writes the destination's initialized inode-table blocks; returns how many. */
  long write() throws IOException {
    return write(null, null);
  }

  /**
   * Writes the table while the source's writers run; returns one bit per destination block that could not be
   * written because a source block it needs failed its check (it was being rewritten as it was read).
   */
  static long[] preCopy(SourceView src, CopyPlan plan, BlockDevice dst, CopyContext cx) throws IOException {
    long[] failed = new long[(int) ((plan.inodeTableInitBlocks() + 63) >>> 6)];
    new InodeTableWriter(src, plan, dst, cx, "pre-copying inode table").write(null, failed);
    return failed;
  }

  /**
   * Writes only the destination blocks with their bit set in {@code only} (null: all of them); returns how many.
   * The source's writers are held off, so every source block must pass its check.
   */
  long write(long[] only) throws IOException {
    return write(only, null);
  }

  /**
   * The destination blocks the final pass must write after {@link #preCopy} wrote {@code before}'s table:
   * those whose source blocks a transaction rewrote since change tracking began ({@code rewritten}, one bit per
   * source block), those the pre-copy could not write, those past the pre-copy's table, and those holding an
   * inode whose relocation differs between the two plans. The pre-copy read nothing older than the state
   * tracking began with (the journal drops an image only after writing it in place), so every other block is
   * current. {@code now} must span at least {@code before}'s table ({@link CopyPlan#withTableBlocksAtLeast}).
   */
  static long[] stillToWrite(CopyPlan before, long[] failed, CopyPlan now, SourceView src, long[] rewritten) {
    java.util.Objects.requireNonNull(rewritten, "rewritten: without a record of changes every block is stale");
    long blocks = now.inodeTableInitBlocks();
    long[] out = new long[(int) ((blocks + 63) >>> 6)];
    int srcPer = InodeCodec.perBlock(src.blockSize, src.sb.layout().inodeSize());
    int dstPer = now.inodesPerBlock();
    long preBlocks = before.inodeTableInitBlocks();
    for (long d = 0; d < blocks; d++) {
      if (d >= preBlocks || FreeSpaceScanner.isSet(failed, d)) {
        FreeSpaceScanner.setRange(out, d, 1, true);
      }
    }
    long tableStart = src.inodeTableStart();
    long srcBlocks = src.sb.inodeTableInitBlocks();
    for (long s = 0; s < srcBlocks; s++) {
      if (FreeSpaceScanner.isSet(rewritten, tableStart + s)) {
        long first = s * srcPer / dstPer;
        long last = Math.min(blocks - 1, ((s + 1) * srcPer - 1) / dstPer);
        if (first <= last) {
          FreeSpaceScanner.setRange(out, first, last - first + 1, true);
        }
      }
    }
    java.util.Set<Long> relocated = new java.util.HashSet<>(before.patches().keySet());
    relocated.addAll(now.patches().keySet());
    for (long n : relocated) {
      if (!java.util.Objects.equals(before.patches().get(n), now.patches().get(n)) && n / dstPer < blocks) {
        FreeSpaceScanner.setRange(out, n / dstPer, 1, true);
      }
    }
    return out;
  }

  private long write(long[] only, long[] failed) throws IOException {
    table = new TableReader(src, src.inodeTableStart(), src.sb.inodeTableInitBlocks(),
        only == null ? BATCH_BLOCKS : SPARSE_BATCH_BLOCKS);
    srcBlockIndex = -1;
    long blocks = plan.inodeTableInitBlocks();
    int batch = (int) Math.max(1, Math.min(BATCH_BLOCKS, blocks));
    byte[] out = new byte[batch * bs];
    byte[] block = new byte[bs];
    long written = 0;
    long batchStart = 0;
    int inBatch = 0;
    cx.progress(phase, 0, blocks, "blocks");
    for (long d = 0; d < blocks; d++) {
      boolean take = only == null || FreeSpaceScanner.isSet(only, d);
      if (take && !convert(d, block, failed != null)) {
        FreeSpaceScanner.setRange(failed, d, 1, true);
        take = false;
      }
      if (!take) {
        written += flush(out, batchStart, inBatch, d, blocks);
        inBatch = 0;
        continue;
      }
      if (inBatch == 0) {
        batchStart = d;
      }
      System.arraycopy(block, 0, out, inBatch * bs, bs);
      inBatch++;
      if (inBatch == batch) {
        written += flush(out, batchStart, inBatch, d, blocks);
        inBatch = 0;
      }
    }
    written += flush(out, batchStart, inBatch, blocks - 1, blocks);
    // Also when the final pass found nothing left to write: the phase ends at its total like every other.
    cx.progress(phase, blocks, blocks, "blocks");
    return written;
  }

  /**
   * Fills {@code block} with destination block {@code d}; false when {@code lenient} and a source block it needs
   * failed its check.
   */
  private boolean convert(long d, byte[] block, boolean lenient) throws IOException {
    long srcInitSlots = src.sb.inodeTableInitBlocks() * srcPerBlock;
    long inodeCount = plan.geometry().inodeCount();
    Arrays.fill(block, (byte) 0);
    for (int k = 0; k < dstPerBlock; k++) {
      long n = d * dstPerBlock + k;
      if (n == 0 || n >= inodeCount || n >= srcInitSlots) {
        continue;
      }
      if (n / srcPerBlock != srcBlockIndex) {
        cx.io(1);
        try {
          srcBlockOff = table.locate(n / srcPerBlock);
          srcBlock = table.array();
        } catch (VdeCorruptedException e) {
          if (!lenient) {
            throw e;
          }
          srcBlockIndex = -1;
          return false;
        }
        srcBlockIndex = n / srcPerBlock;
      }
      int dstOff = k * to.inodeSize();
      converter.convert(srcBlock, srcBlockOff + (int) (n % srcPerBlock) * from.inodeSize(), block, dstOff);
      InodePatch patch = plan.patches().get(n);
      if (patch != null) {
        patch.applyTo(block, dstOff, n, to);
      }
    }
    // The generation of an inode-table block is its index in the table, as the engine writes it.
    BlockCodec.seal(block, BlockType.INODE_TABLE, (int) d);
    return true;
  }

  /** Writes the {@code n} blocks gathered in {@code out} from destination block {@code first}; returns n. */
  private int flush(byte[] out, long first, int n, long at, long blocks) throws IOException {
    if (n == 0) {
      return 0;
    }
    cx.io(n);
    dst.write((plan.geometry().inodeTableStart() + first) * bs, ByteBuffer.wrap(out, 0, n * bs));
    if (at + 1 < blocks) {
      cx.progress(phase, at + 1, blocks, "blocks");
    }
    return n;
  }
}
