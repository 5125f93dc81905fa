package dev.vde.module.copy;

import dev.vde.VdeCorruptedException;
import dev.vde.alloc.FreeSpaceScanner;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.io.BlockDevice;
import dev.vde.io.BlockScratch;
import dev.vde.io.ReadAhead;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.Future;

/**
 * Moves the planned transfers from the source to the destination in large sequential pieces: transfers that
 * continue each other on both sides (the common case, since most blocks keep their number) are coalesced into
 * one read and one write of up to {@link #BUFFER_BYTES}.
 *
 * <p>Up to {@link #READS_IN_FLIGHT} pieces are read ahead on other threads while the current one is written: one
 * synchronous read at a time leaves the device idle between requests, and several in flight is what the kernel's
 * own read-ahead gives a plain {@code cp}. The reading thread also checks its piece, so the checks spread over
 * the cores and overlap the writes. Buffers are direct, so the JDK reads into them and writes from them without
 * its own intermediate copy, and aligned, so that the file device reads the source past the host's page cache
 * ({@link BlockDevice#readBulk}): 8-11% faster on the benchmark machine, and a copy of a large volume does not
 * evict what the host caches for the applications using it.
 *
 * <p>Every block's trailer is checked on the way (checksum, type, owning inode), so a damaged source block stops
 * the copy with a {@link VdeCorruptedException} naming it instead of being carried into the destination. That is
 * why the bytes pass through the JVM rather than {@code FileChannel.transferTo}: a copy that silently propagates
 * damage is not worth having. Blocks changed since the source's last checkpoint (directory and extent blocks, and
 * the data of small transactions, which is journaled) are taken from the source's journal, where their newest
 * version is.
 */
final class BlockMover {
  /** Bytes moved per read and per write; big enough that per-call costs vanish, small enough to stay cached. */
  static final int BUFFER_BYTES = 2 << 20;
  /**
   * Pieces being read (and checked) while the current one is written. A volume's live data lies in runs spread
   * over the image, and a deeper queue of smaller reads (8 of 2 MiB against 3 of 4 MiB) copied 10% and 50% live
   * data about 10% faster on the benchmark machine (docs/BENCHMARKS.md, scenario 2).
   */
  static final int READS_IN_FLIGHT = 8;

  private final SourceView src;
  private final BlockDevice dst;
  private final CopyContext cx;
  private final int bs;
  private final int chunk;

  /**
   * Null for a normal move, where a block that fails its check stops the copy. For a pre-copy (source writers
   * running): the source blocks written to the destination after passing their checks, one bit each; a piece
   * with a block that fails (freed and reused meanwhile, say) is not written, and the final pass copies what
   * is still needed under the strict rule.
   */
  private final long[] preCopied;
  private final String phase;
  /** The scan that planned the transfers: which data blocks end a file, and where. */
  private final SourceInventory inventory;
  /** Set when {@link #move} ends: reads queued but not yet started then read nothing. */
  private volatile boolean abandoned;

  BlockMover(SourceView src, SourceInventory inventory, BlockDevice dst, CopyContext cx) {
    this(src, inventory, dst, cx, null, "copying");
  }

  private BlockMover(SourceView src, SourceInventory inventory, BlockDevice dst, CopyContext cx, long[] preCopied,
      String phase) {
    this.src = src;
    this.inventory = inventory;
    this.dst = dst;
    this.cx = cx;
    this.bs = src.blockSize;
    this.chunk = cx.transferBlocks(BUFFER_BYTES / bs);
    this.preCopied = preCopied;
    this.phase = phase;
  }

  /** A mover for the pre-copy: records in {@code preCopied} (one bit per source block) what it wrote. */
  static BlockMover preCopy(SourceView src, SourceInventory inventory, BlockDevice dst, CopyContext cx,
      long[] preCopied) {
    return new BlockMover(src, inventory, dst, cx, preCopied, "pre-copying");
  }

  /** One coalesced read-and-write: {@code n} blocks from {@code src} to {@code dst}, with their owners. */
  private record Piece(long src, long dst, int n, long[] owners, BlockType[] types) {}

  /** A piece read into {@code buf}; {@code sound} is false when a pre-copy found a block that fails its check. */
  private record Read(ByteBuffer buf, boolean sound) {}

  /**
   * Moves every transfer (sorted by source block); returns the blocks moved. Piece {@code i} uses buffer
   * {@code i % (READS_IN_FLIGHT + 1)}: while it is written, pieces {@code i+1} to
   * {@code i+READS_IN_FLIGHT} are being read into the other buffers, and the read of piece
   * {@code i+READS_IN_FLIGHT} starts in the buffer piece {@code i-1} has just finished with.
   */
  long move(List<Transfer> transfers) throws IOException {
    List<Piece> pieces = coalesce(transfers);
    abandoned = false;
    long total = 0;
    int largest = 0;
    for (Piece p : pieces) {
      total += p.n();
      largest = Math.max(largest, p.n());
    }
    long done = 0;
    cx.progress(phase, 0, total, "blocks");
    ByteBuffer[] bufs = new ByteBuffer[Math.min(pieces.size(), READS_IN_FLIGHT + 1)];
    // No bigger than the largest piece: a final pass of a few scattered blocks would otherwise fault in 18 MiB of
    // fresh buffer pages (about 45 ms here) while the source's writers wait.
    int bufferBytes = largest * bs;
    ArrayDeque<Future<Read>> reads = new ArrayDeque<>();
    try {
      for (int i = 0; i < Math.min(READS_IN_FLIGHT, pieces.size()); i++) {
        reads.add(readAhead(pieces.get(i), buffer(bufs, i, bufferBytes)));
      }
      for (int i = 0; i < pieces.size(); i++) {
        Piece p = pieces.get(i);
        Read cur = ReadAhead.join(reads.poll());
        if (i + READS_IN_FLIGHT < pieces.size()) {
          reads.add(readAhead(pieces.get(i + READS_IN_FLIGHT), buffer(bufs, i + READS_IN_FLIGHT, bufferBytes)));
        }
        if (cur.sound()) {
          write(p, cur.buf());
          if (preCopied != null) {
            FreeSpaceScanner.setRange(preCopied, p.src(), p.n(), true);
          }
        }
        done += p.n();
        cx.progress(phase, done, total, "blocks");
      }
    } finally {
      // After an error: the reads not yet started read nothing, and those running are waited for. The caller takes
      // the failure for the end of the copy and closes or hands back its source; a read still running would go on
      // reading a device its owner has closed (ReadAheadAfterFailureTest). At most READS_IN_FLIGHT pieces are
      // outstanding, so the wait is short. A cancelled future would not wait for a read already running.
      abandoned = true;
      for (Future<Read> f : reads) {
        ReadAhead.awaitQuietly(f);
      }
    }
    return done;
  }

  private static ByteBuffer buffer(ByteBuffer[] bufs, int piece, int bytes) {
    int k = piece % bufs.length;
    if (bufs[k] == null) {
      bufs[k] = BlockDevice.bulkBuffer(bytes);
    }
    return bufs[k];
  }

  private Future<Read> readAhead(Piece p, ByteBuffer buf) throws IOException {
    cx.io(p.n());
    return ReadAhead.submit(() -> {
      if (abandoned) {
        // The move failed before this read started: nobody looks at it.
        return new Read(buf, false);
      }
      src.readCurrent(p.src(), p.n(), buf, true);
      try {
        check(p, buf);
      } catch (VdeCorruptedException e) {
        if (preCopied == null) {
          throw e;
        }
        return new Read(buf, false);
      }
      return new Read(buf, true);
    });
  }

  /** Transfers that continue each other on both sides become one piece of at most {@code chunk} blocks. */
  private List<Piece> coalesce(List<Transfer> transfers) {
    List<Piece> out = new java.util.ArrayList<>();
    int i = 0;
    int off = 0;
    // Scratch for one piece, cut to size when it is done (pieces are many and often far smaller than a chunk).
    long[] ow = new long[chunk];
    BlockType[] ty = new BlockType[chunk];
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

  /** Checks every block of a piece just read (on the reading thread, so the checks of pieces run in parallel). */
  private void check(Piece p, ByteBuffer data) throws IOException {
    byte[] block = BlockScratch.of(bs);
    for (int k = 0; k < p.n(); k++) {
      long blockNo = p.src() + k;
      // Hashing a heap copy of the block is faster than hashing the direct buffer through an accessor.
      data.get(k * bs, block);
      int owner = BlockCodec.verifyAt(block, 0, bs, blockNo, p.types()[k], src.resource);
      if (owner != (int) p.owners()[k]) {
        throw new VdeCorruptedException(blockNo, p.types()[k].structure(), "block belongs to inode "
            + Integer.toUnsignedLong(owner) + ", but inode " + p.owners()[k] + " maps it", src.resource);
      }
      int tail = p.types()[k] == BlockType.DATA ? inventory.tailOf(blockNo) : 0;
      int payload = bs - BlockCodec.TRAILER_SIZE;
      if (tail > 0 && !Bytes.isZero(block, tail, payload - tail)) {
        // What the verifier reports; carried over, it would make the new volume fail its check at once.
        throw new VdeCorruptedException(blockNo, p.types()[k].structure(), "bytes " + tail + ".." + (payload - 1)
            + " of the last block of inode " + p.owners()[k] + " lie past the end of the file but are not zero"
            + TreeInventory.SUFFIX, src.resource);
      }
    }
  }

  private void write(Piece p, ByteBuffer data) throws IOException {
    cx.io(p.n());
    dst.write(p.dst() * bs, data.duplicate().position(0).limit(p.n() * bs));
  }
}
