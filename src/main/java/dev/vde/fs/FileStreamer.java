package dev.vde.fs;

import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.inode.Extent;
import dev.vde.inode.ExtentMap;
import dev.vde.io.ReadAhead;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.ref.SoftReference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Streams a whole file to an {@link OutputStream}: the large sequential read. A file is cut into pieces of about
 * {@link #PIECE_BYTES}; up to {@link #IN_FLIGHT} pieces are read and verified at once by worker threads while
 * the caller writes the finished pieces out, in order.
 *
 * <p>Why several threads: checking each block's XXH3 costs about as much CPU as the host's read of it from the
 * page cache, so with one thread a cached read ran at about half the speed of a plain read of the same bytes.
 * Pieces are independent, so their checks spread over the cores. Each worker reads its piece into a direct buffer
 * of its own (one copy out of the page cache, which a heap buffer would double), copies the payloads out of the
 * trailer layout into the piece's heap buffer, and hashes them there. Piece buffers are kept between streams
 * ({@link #POOL}): fresh ones cost page faults that showed as a sixth of a cached stream's time.
 *
 * <p>Nothing here is written. The caller holds a read pin ({@link Volume#pinForRead}) until this returns, which
 * keeps every block the extents name from being reused, and this returns only when no worker is still reading
 * for it: when a piece fails, pieces not yet started are skipped and those being read are waited for.
 */
final class FileStreamer {
  /** Bytes per piece: 4 MiB keeps the device busy and the handoffs few. */
  static final int PIECE_BYTES = 4 << 20;

  /** Worker threads: one per core, at most four (more only adds buffers). */
  static final int WORKER_COUNT = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));

  /** Pieces being read at once: one per worker (queueing more was slower here: more buffers, no less waiting). */
  static final int IN_FLIGHT = WORKER_COUNT;

  /**
   * The workers: a fixed set, so that each keeps its read buffer warm. (A pool that starts a thread whenever none
   * is idle at the instant of a handoff grew to five threads here, each with its own cold buffer, and streamed a
   * cached file at three quarters of this speed.) Daemon threads: they never keep the JVM alive.
   */
  private static final ExecutorService WORKERS = Executors.newFixedThreadPool(WORKER_COUNT, r -> {
    Thread t = new Thread(r, "vde-stream");
    t.setDaemon(true);
    return t;
  });

  /** Each worker's read buffer; the JDK would keep one of the same size per thread for a heap read anyway. */
  private static final ThreadLocal<ByteBuffer> RAW = new ThreadLocal<>();

  /** {@code count} logical blocks from {@code logical}, at {@code phys} (-1: a hole). */
  record Piece(long logical, long phys, int count) {}

  private FileStreamer() {}

  /** Writes the first {@code size} bytes of the file mapped by {@code xs} to {@code out}; returns the count. */
  static long stream(Volume v, long owner, List<Extent> xs, long size, OutputStream out) throws IOException {
    int payload = v.payload();
    int max = Math.max(1, PIECE_BYTES / v.blockSize());
    // Without overflow: an older engine allowed sizes up to Long.MAX_VALUE.
    long blocks = size / payload + (size % payload == 0 ? 0 : 1);
    Pieces pieces = new Pieces(xs, blocks, max);
    if (blocks <= max && pieces.hasNext()) {
      Piece p = pieces.next();
      if (!pieces.hasNext()) {
        // One piece: a handoff would only add latency.
        byte[] buf = fill(v, owner, p, takeBuffer(p.count() * payload));
        out.write(buf, 0, (int) size);
        giveBack(buf);
        return size;
      }
      pieces = new Pieces(xs, blocks, max);
    }
    ArrayDeque<Piece> ahead = new ArrayDeque<>();
    ArrayDeque<Future<byte[]>> inFlight = new ArrayDeque<>();
    ArrayDeque<byte[]> spare = new ArrayDeque<>();
    int bufferBytes = (int) Math.min(max, blocks) * payload;
    AtomicBoolean abandoned = new AtomicBoolean();
    long written = 0;
    try {
      while (true) {
        while (pieces.hasNext() && inFlight.size() < IN_FLIGHT) {
          Piece next = pieces.next();
          byte[] buf = spare.isEmpty() ? takeBuffer(bufferBytes) : spare.pop();
          ahead.add(next);
          inFlight.add(WORKERS.submit(() -> abandoned.get() ? buf : fill(v, owner, next, buf)));
        }
        if (inFlight.isEmpty()) {
          break;
        }
        Piece p = ahead.poll();
        // Left queued until it has come back: if the wait ends in an exception (an interrupt), the cleanup below
        // waits for this piece's worker too, so none reads after the caller lets its pin go.
        byte[] buf = ReadAhead.join(inFlight.peek());
        inFlight.poll();
        int n = (int) Math.min((long) p.count() * payload, size - p.logical() * payload);
        out.write(buf, 0, n);
        written += n;
        spare.push(buf);
      }
    } catch (IOException | RuntimeException e) {
      // Pieces not started are skipped; those being read are waited for, so that no worker touches the volume
      // after the caller has let go of its pin.
      abandoned.set(true);
      inFlight.forEach(ReadAhead::awaitQuietly);
      throw e;
    }
    spare.forEach(FileStreamer::giveBack);
    return written;
  }

  /**
   * Logical blocks {@code [0, blocks)} cut into physically contiguous pieces of at most {@code max} blocks, made
   * one at a time: a sparse file may be far larger than the list of its pieces could be. A hole is measured up to
   * the next extent at once, not block by block.
   */
  static final class Pieces {
    private final List<Extent> xs;
    private final long blocks;
    private final int max;
    private long l;

    Pieces(List<Extent> xs, long blocks, int max) {
      this.xs = xs;
      this.blocks = blocks;
      this.max = max;
    }

    boolean hasNext() {
      return l < blocks;
    }

    Piece next() {
      long phys = ExtentMap.physical(xs, l);
      long limit = Math.min(blocks, l + max);
      int n;
      if (phys < 0) {
        // At least one block, whatever a damaged (unsorted) list says, so that the cut always moves on.
        n = (int) Math.max(1, Math.min(limit, nextMapped(l)) - l);
      } else {
        n = 1;
        while (l + n < limit && ExtentMap.physical(xs, l + n) == phys + n) {
          n++;
        }
      }
      Piece p = new Piece(l, phys, n);
      l += n;
      return p;
    }

    /**
     * The first logical block at or after {@code from} that an extent maps, or {@link Long#MAX_VALUE}: a binary
     * search, since the list is sorted and its extents do not overlap (a file of tens of thousands of extents
     * alternating with holes would otherwise cost a scan of them all per hole).
     */
    private long nextMapped(long from) {
      int lo = 0;
      int hi = xs.size();
      while (lo < hi) {
        int mid = (lo + hi) >>> 1;
        if (xs.get(mid).logicalEnd() <= from) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      return lo == xs.size() ? Long.MAX_VALUE : Math.max(from, xs.get(lo).logical());
    }
  }

  /**
   * Reads piece {@code p} and puts its payloads, checked, side by side in {@code dst}; a hole gives zeros. Blocks
   * whose newest image is still in the WAL are taken from there (asked before the device is read: an image gone
   * from the journal is already in place).
   */
  private static byte[] fill(Volume v, long owner, Piece p, byte[] dst) throws IOException {
    int bs = v.blockSize();
    int payload = v.payload();
    if (p.phys() < 0) {
      Arrays.fill(dst, 0, p.count() * payload, (byte) 0);
      return dst;
    }
    byte[][] journaled = v.journal().dataImages(p.phys(), p.count());
    // One read for the whole piece: reading it in cache-sized parts, to copy and hash each while it was still
    // in the core's cache, measured slower here (fewer, larger reads win).
    ByteBuffer raw = rawBuffer(p.count() * bs);
    v.device().read(p.phys() * bs, raw);
    for (int k = 0; k < p.count(); k++) {
      long blockNo = p.phys() + k;
      int gen;
      if (journaled != null && journaled[k] != null) {
        gen = BlockCodec.verifyAt(journaled[k], 0, bs, blockNo, BlockType.DATA, v.resource());
        System.arraycopy(journaled[k], 0, dst, k * payload, payload);
      } else {
        int at = k * bs;
        raw.get(at, dst, k * payload, payload);
        gen = BlockCodec.verifySplit(dst, k * payload, bs, raw.getInt(at + payload), raw.getInt(at + payload + 4),
            raw.getLong(at + payload + 8), blockNo, BlockType.DATA, v.resource());
      }
      FileData.checkOwner(v, gen, blockNo, owner);
    }
    return dst;
  }

  /**
   * Piece buffers kept between streams, at most one stream's worth, each of {@link #PIECE_BYTES} (which holds the
   * payloads of a piece at any block size). A fresh 4 MiB array is cleared by the JVM, and in heap the process has
   * not touched yet each of its pages is faulted in on first touch (about 10 µs per 4 KiB page here): the two a
   * stream took cost some 20 ms of CPU per stream, a sixth of a cached 1 GiB stream. Soft references, so that the
   * collector may take them back when memory runs short.
   */
  private static final ArrayBlockingQueue<SoftReference<byte[]>> POOL = new ArrayBlockingQueue<>(IN_FLIGHT);

  /**
   * A buffer for at least {@code bytes}: a pooled one, or a new one, of {@link #PIECE_BYTES} when more than half
   * of that is asked for. Smaller needs (small files, short pieces) get an array of their own size and never
   * touch the pool.
   */
  private static byte[] takeBuffer(int bytes) {
    if (bytes <= PIECE_BYTES / 2) {
      return new byte[bytes];
    }
    for (SoftReference<byte[]> r = POOL.poll(); r != null; r = POOL.poll()) {
      byte[] b = r.get();
      if (b != null) {
        return b;
      }
    }
    return new byte[PIECE_BYTES];
  }

  /** Keeps a full-size buffer for a later stream once nothing reads or writes it any more, unless the pool is full. */
  private static void giveBack(byte[] b) {
    if (b.length == PIECE_BYTES) {
      POOL.offer(new SoftReference<>(b));
    }
  }

  /** This thread's read buffer, cleared and limited to {@code bytes}. */
  private static ByteBuffer rawBuffer(int bytes) {
    ByteBuffer b = RAW.get();
    if (b == null || b.capacity() < bytes) {
      // Powers of two from 64 KiB: a thread that reads small files keeps a small buffer.
      int cap = Math.max(64 << 10, Integer.highestOneBit(Math.max(1, bytes - 1)) << 1);
      b = ByteBuffer.allocateDirect(Math.max(cap, bytes)).order(ByteOrder.LITTLE_ENDIAN);
      RAW.set(b);
    }
    b.clear().limit(bytes);
    return b;
  }
}
