package dev.vde.module.copy;

import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.io.BlockDevice;
import dev.vde.io.ReadAhead;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Moves the planned transfers from the source to the destination in large sequential pieces: transfers that
 * continue each other on both sides (the common case, since most blocks keep their number) are coalesced into
 * one read and one write of up to {@link #BUFFER_BYTES}, through two buffers reused for the whole copy: the next
 * piece is read on another thread while the current one is checked and written.
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

  BlockMover(SourceView src, BlockDevice dst, CopyContext cx) {
    this.src = src;
    this.dst = dst;
    this.cx = cx;
    this.bs = src.blockSize;
    this.chunk = cx.transferBlocks(BUFFER_BYTES / bs);
    this.buf = new byte[chunk * bs];
  }

  /** One coalesced read-and-write: {@code n} blocks from {@code src} to {@code dst}, with their owners. */
  private record Piece(long src, long dst, int n, long[] owners, BlockType[] types) {}

  /**
   * Moves every transfer (sorted by source block); returns the blocks moved. The next piece is read on another
   * thread while the current one is checked and written.
   */
  long move(List<Transfer> transfers) throws IOException {
    List<Piece> pieces = coalesce(transfers);
    long total = 0;
    for (Piece p : pieces) {
      total += p.n();
    }
    long done = 0;
    cx.progress("copying", 0, total, "blocks");
    byte[][] bufs = {buf, pieces.size() > 1 ? new byte[buf.length] : null};
    java.util.concurrent.Future<byte[]> ahead = null;
    for (int i = 0; i < pieces.size(); i++) {
      Piece p = pieces.get(i);
      byte[] cur;
      if (ahead != null) {
        cur = ReadAhead.join(ahead);
        ahead = null;
      } else {
        cx.io(p.n());
        src.readInPlace(p.src(), p.n(), bufs[0]);
        cur = bufs[0];
      }
      if (i + 1 < pieces.size()) {
        Piece next = pieces.get(i + 1);
        byte[] other = cur == bufs[0] ? bufs[1] : bufs[0];
        cx.io(next.n());
        ahead = ReadAhead.submit(() -> {
          src.readInPlace(next.src(), next.n(), other);
          return other;
        });
      }
      try {
        checkAndWrite(p, cur);
      } catch (IOException | RuntimeException e) {
        if (ahead != null) {
          ahead.cancel(false);
        }
        throw e;
      }
      done += p.n();
      cx.progress("copying", done, total, "blocks");
    }
    return done;
  }

  /** Transfers that continue each other on both sides become one piece of at most {@code chunk} blocks. */
  private List<Piece> coalesce(List<Transfer> transfers) {
    List<Piece> out = new java.util.ArrayList<>();
    int i = 0;
    int off = 0;
    while (i < transfers.size()) {
      Transfer head = transfers.get(i);
      long srcStart = head.src() + off;
      long dstStart = head.dst() + off;
      int n = 0;
      long[] ow = new long[chunk];
      BlockType[] ty = new BlockType[chunk];
      while (i < transfers.size() && n < chunk) {
        Transfer t = transfers.get(i);
        if (t.src() + off != srcStart + n || t.dst() + off != dstStart + n) {
          break;
        }
        int take = Math.min(t.count() - off, chunk - n);
        for (int k = 0; k < take; k++) {
          ow[n + k] = t.owner();
          ty[n + k] = t.type();
        }
        n += take;
        off += take;
        if (off == t.count()) {
          i++;
          off = 0;
        }
      }
      out.add(new Piece(srcStart, dstStart, n, java.util.Arrays.copyOf(ow, n), java.util.Arrays.copyOf(ty, n)));
    }
    return out;
  }

  private void checkAndWrite(Piece p, byte[] data) throws IOException {
    for (int k = 0; k < p.n(); k++) {
      long blockNo = p.src() + k;
      if (p.types()[k] != BlockType.DATA) {
        byte[] newer = src.publishedImage(blockNo);
        if (newer != null) {
          System.arraycopy(newer, 0, data, k * bs, bs);
        }
      }
      int owner = BlockCodec.verifyAt(data, k * bs, bs, blockNo, p.types()[k], src.resource);
      if (owner != (int) p.owners()[k]) {
        throw new VdeCorruptedException(blockNo, p.types()[k].structure(), "block belongs to inode "
            + Integer.toUnsignedLong(owner) + ", but inode " + p.owners()[k] + " maps it", src.resource);
      }
    }
    cx.io(p.n());
    dst.write(p.dst() * bs, ByteBuffer.wrap(data, 0, p.n() * bs));
  }
}
