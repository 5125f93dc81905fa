package dev.vde.module.copy;

import dev.vde.format.Salt;
import dev.vde.format.Superblock;
import dev.vde.io.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

/**
 * Writes the destination's own metadata and brackets the copy with its superblocks.
 *
 * <p>{@link #begin} gives the destination its size and writes both superblock slots with
 * {@link Superblock#INCOMPAT_INCOMPLETE_COPY} set, then syncs: from then on every open refuses the destination as
 * an incomplete copy, whatever else reaches the disk. {@link #finish} syncs everything written since and only then
 * writes both slots again without the bit, with higher sequence numbers, and syncs. Those last writes are what
 * make the destination a volume.
 */
final class DestinationWriter {
  private final BlockDevice dst;
  private final SourceView src;
  private final CopyPlan plan;
  private final CopyContext cx;
  private final int bs;
  private final long salt = Salt.next();

  DestinationWriter(BlockDevice dst, SourceView src, CopyPlan plan, CopyContext cx) {
    this.dst = dst;
    this.src = src;
    this.plan = plan;
    this.cx = cx;
    this.bs = src.blockSize;
  }

  /** Sizes the destination (sparse: nothing else is written) and marks it as an incomplete copy, durably. */
  void begin() throws IOException {
    long bytes = plan.geometry().totalBlocks() * bs;
    try {
      dst.truncate(bytes);
    } catch (IOException e) {
      if (e instanceof dev.vde.VdeException || PathDestination.isNoSpace(e)) {
        throw e;
      }
      // The host's own refusal ("File too large") names no file; a caller reporting it would name the source.
      throw new dev.vde.VdeException("cannot size the destination to " + bytes + " bytes: " + e.getMessage()
          + "; the host file system may not take a file that large: copy to a smaller size ('vde copy --size', "
          + "CopyOptions.sizeBytes) or onto another file system", dst.describe(), e);
    }
    writeSuperblocks(0, true);
    dst.sync();
  }

  /** Writes the rebuilt extent blocks of relocated inodes. */
  void writeRebuiltBlocks() throws IOException {
    for (Map.Entry<Long, byte[]> e : plan.rebuiltBlocks().entrySet()) {
      cx.io(1);
      dst.write(e.getKey() * bs, ByteBuffer.wrap(e.getValue()));
    }
  }

  /** Writes the region directory and the whole bitmap. */
  void writeRegionsAndBitmap() throws IOException {
    DestinationGeometry g = plan.geometry();
    List<byte[]> rd = g.regions().write(bs, g.regionDirBlocks());
    byte[] rdBytes = new byte[rd.size() * bs];
    for (int i = 0; i < rd.size(); i++) {
      System.arraycopy(rd.get(i), 0, rdBytes, i * bs, bs);
    }
    cx.io(rd.size());
    dst.write(2L * bs, ByteBuffer.wrap(rdBytes));
    int batch = (int) Math.min(BlockMover.BUFFER_BYTES / bs, g.bitmapBlocks());
    byte[] out = new byte[batch * bs];
    for (long first = 0; first < g.bitmapBlocks(); first += batch) {
      int n = (int) Math.min(batch, g.bitmapBlocks() - first);
      for (int i = 0; i < n; i++) {
        System.arraycopy(plan.destBitmap().encodeBlock((int) (first + i)), 0, out, i * bs, bs);
      }
      cx.io(n);
      dst.write((g.bitmapStart() + first) * bs, ByteBuffer.wrap(out, 0, n * bs));
    }
  }

  /** Makes everything durable, then turns the destination into a volume (see the class comment). */
  void finish() throws IOException {
    dst.sync();
    cx.checkCancelled();
    writeSuperblocks(2, false);
    dst.sync();
  }

  /** Writes slot 0 with {@code firstSequence} and slot 1 with the next sequence. */
  private void writeSuperblocks(long firstSequence, boolean incomplete) throws IOException {
    for (long seq = firstSequence; seq < firstSequence + 2; seq++) {
      Superblock sb = plan.geometry().superblock(src.sb, seq, salt, plan.inventory().liveInodes(),
          plan.destBitmap().durableFree(), plan.inodeTableInitBlocks(), incomplete);
      cx.pace(1);
      dst.write(sb.slot() * (long) bs, ByteBuffer.wrap(sb.write()));
    }
  }
}
