package dev.vde.module.copy;

import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.io.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Moves the planned transfers from the source to the destination in large sequential pieces: transfers that
 * continue each other on both sides (the common case, since most blocks keep their number) are coalesced into
 * one read and one write of up to {@link #BUFFER_BYTES}, through one buffer reused for the whole copy.
 *
 * <p>Every block's trailer is checked on the way (checksum, type, owning inode), so a damaged source block stops
 * the copy with a {@link VdeCorruptedException} naming it instead of being carried into the destination. That is
 * why the bytes pass through the JVM rather than {@code FileChannel.transferTo}: hashing them costs less than the
 * extra copy, and a copy that silently propagates damage is not worth having. Directory and extent blocks changed
 * since the source's last checkpoint are taken from the source's journal, where their newest version is.
 */
final class BlockMover {
  /** Bytes moved per read and per write; big enough that per-call costs vanish, small enough to stay cached. */
  static final int BUFFER_BYTES = 4 << 20;

  private final SourceView src;
  private final BlockDevice dst;
  private final CopyContext cx;
  private final int bs;
  private final int chunk;
  private final byte[] buf;
  private final long[] owners;
  private final BlockType[] types;

  BlockMover(SourceView src, BlockDevice dst, CopyContext cx) {
    this.src = src;
    this.dst = dst;
    this.cx = cx;
    this.bs = src.blockSize;
    this.chunk = cx.transferBlocks(BUFFER_BYTES / bs);
    this.buf = new byte[chunk * bs];
    this.owners = new long[chunk];
    this.types = new BlockType[chunk];
  }

  /** Moves every transfer (sorted by source block); returns the blocks moved. */
  long move(List<Transfer> transfers) throws IOException {
    long total = 0;
    for (Transfer t : transfers) {
      total += t.count();
    }
    long done = 0;
    int i = 0;
    int off = 0;
    cx.progress("copying", 0, total, "blocks");
    while (i < transfers.size()) {
      Transfer head = transfers.get(i);
      long srcStart = head.src() + off;
      long dstStart = head.dst() + off;
      int n = 0;
      while (i < transfers.size() && n < chunk) {
        Transfer t = transfers.get(i);
        if (t.src() + off != srcStart + n || t.dst() + off != dstStart + n) {
          break;
        }
        int take = Math.min(t.count() - off, chunk - n);
        for (int k = 0; k < take; k++) {
          owners[n + k] = t.owner();
          types[n + k] = t.type();
        }
        n += take;
        off += take;
        if (off == t.count()) {
          i++;
          off = 0;
        }
      }
      copy(srcStart, dstStart, n);
      done += n;
      cx.progress("copying", done, total, "blocks");
    }
    return done;
  }

  private void copy(long srcStart, long dstStart, int n) throws IOException {
    cx.io(n);
    src.readInPlace(srcStart, n, buf);
    for (int k = 0; k < n; k++) {
      long blockNo = srcStart + k;
      if (types[k] != BlockType.DATA) {
        byte[] newer = src.publishedImage(blockNo);
        if (newer != null) {
          System.arraycopy(newer, 0, buf, k * bs, bs);
        }
      }
      int owner = BlockCodec.verifyAt(buf, k * bs, bs, blockNo, types[k], src.resource);
      if (owner != (int) owners[k]) {
        throw new VdeCorruptedException(blockNo, types[k].structure(), "block belongs to inode "
            + Integer.toUnsignedLong(owner) + ", but inode " + owners[k] + " maps it", src.resource);
      }
    }
    cx.io(n);
    dst.write(dstStart * bs, ByteBuffer.wrap(buf, 0, n * bs));
  }
}
