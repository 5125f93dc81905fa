package dev.vde.fs;

import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.inode.Extent;
import dev.vde.inode.ExtentMap;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.lang.ref.SoftReference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Streams a whole file to an {@link OutputStream}: the large sequential read. A file is cut into pieces of about
 * {@link #PIECE_BYTES}; the caller and up to {@link #HELPER_COUNT} helper threads claim pieces in file order, each
 * reads and checks the pieces it claimed, and the caller writes the finished pieces out, in order. At most
 * {@link #WINDOW} pieces are claimed and not yet written.
 *
 * <p>Why several threads: checking each block's XXH3 costs about as much CPU as the host's read of it from the
 * page cache, so with one thread a cached read ran at about half the speed of a plain read of the same bytes.
 * Pieces are independent, so their checks spread over the cores. Each filler reads its piece into a direct buffer
 * taken from a small shared set ({@link #RAW}; one copy out of the page cache, which a heap buffer would double),
 * copies the payloads out of the trailer layout into the piece's heap buffer, and hashes them there. Piece buffers are kept between streams
 * ({@link #POOL}): fresh ones cost page faults that showed as a sixth of a cached stream's time.
 *
 * <p>Why the caller fills pieces too, and helpers claim their own: handing each piece to a worker and each result
 * back wakes a parked thread, which costs tens of microseconds on the project's host; with 4 MiB pieces that was
 * about a tenth of a cached stream. Here a filler that finishes a piece claims the next one itself, and the caller
 * waits only when the piece it must write next is still being filled and no other piece may be claimed. A helper
 * that finds nothing to claim (the window is full: the caller's stream is the slow part) ends, giving its thread
 * to other streams; the caller starts one again once it has written a piece.
 *
 * <p>Nothing here is written. The caller holds a read pin ({@link Volume#pinForRead}) until this returns, which
 * keeps every block the extents name from being reused, and this returns only when no helper is still reading for
 * it: on failure no piece is claimed any more and the helpers still filling one are waited for; a helper that
 * starts after that claims nothing and touches nothing. A failed piece is reported when its turn to be written
 * comes, after the pieces before it, and no piece after it is claimed.
 */
final class FileStreamer {
  /** Bytes per piece: 4 MiB keeps the device busy and the handoffs few. */
  static final int PIECE_BYTES = 4 << 20;

  /** Threads that fill one stream's pieces: one per core, at most four (more only adds buffers). */
  static final int FILLERS = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));

  /** Helper threads, shared by all streams: one fewer than {@link #FILLERS}, since each caller fills too. */
  static final int HELPER_COUNT = FILLERS - 1;

  /**
   * Pieces of one stream claimed and not yet written: one per filler and two more, so that a filler that
   * finishes while the caller is busy (writing, or filling a piece of its own) finds another to claim.
   */
  static final int WINDOW = FILLERS + 2;

  /**
   * The helpers: a fixed set, so that the read buffers they take stay warm. (A pool that starts a thread whenever none
   * is idle at the instant of a handoff grew to five threads here, each with its own cold buffer, and streamed a
   * cached file at three quarters of this speed.) Daemon threads: they never keep the JVM alive. None on one core.
   */
  private static final ExecutorService HELPERS = HELPER_COUNT == 0 ? null
      : Executors.newFixedThreadPool(HELPER_COUNT, r -> {
        Thread t = new Thread(r, "vde-stream");
        t.setDaemon(true);
        return t;
      });

  /**
   * Direct read buffers, shared by every filler (callers and helpers) and kept between pieces: a read into a heap
   * buffer would have the JDK keep a direct buffer of the piece's size for the life of each thread that read one,
   * so a server with hundreds of threads streaming large files would hold hundreds of them. At most
   * {@link #RAW_KEPT} are kept; a filler that finds none free allocates one and gives it back (or drops it, when
   * enough are kept).
   */
  private static final List<ByteBuffer> RAW = new java.util.ArrayList<>();

  /** Read buffers kept: one per filler of a stream, and as many again for other streams' callers. */
  static final int RAW_KEPT = 2 * FILLERS;

  /** Read buffers kept now. */
  static int rawBuffersKept() {
    synchronized (RAW) {
      return RAW.size();
    }
  }

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
    if (!pieces.hasNext()) {
      return 0;
    }
    if (blocks <= max) {
      Piece p = pieces.next();
      if (!pieces.hasNext()) {
        // One piece: a helper would only add latency.
        byte[] buf = takeBuffer(p.count() * payload);
        try {
          out.write(fill(v, owner, p, buf), 0, (int) size);
        } finally {
          giveBack(buf);
        }
        return size;
      }
      pieces = new Pieces(xs, blocks, max);
    }
    return new Stream(v, owner, pieces, size, (int) Math.min(max, blocks) * payload).run(out);
  }

  /** One stream's pieces in flight, shared by its caller and its helpers; guarded by its monitor. */
  private static final class Stream {
    private static final int FREE = 0;
    private static final int FILLING = 1;
    private static final int DONE = 2;

    private final Volume v;
    private final long owner;
    private final Pieces pieces;
    private final long size;
    private final int bufferBytes;
    /** Slot {@code i % WINDOW} holds piece {@code i} from its claim until it has been written. */
    private final Piece[] piece = new Piece[WINDOW];
    private final byte[][] buf = new byte[WINDOW][];
    private final int[] state = new int[WINDOW];
    private final Throwable[] failure = new Throwable[WINDOW];
    /** Pieces claimed so far; the next claim takes piece {@code claimed}. */
    private long claimed;
    /** Pieces written so far; piece {@code written} is the next to go out. */
    private long written;
    /** The first piece that failed; none from it on is claimed. */
    private long failedAt = Long.MAX_VALUE;
    /** Set when the caller is done, successfully or not: nothing more is claimed. */
    private boolean closed;
    /** Helpers submitted and not yet started, and helpers running. */
    private int queued;
    private int running;
    private boolean callerWaits;

    Stream(Volume v, long owner, Pieces pieces, long size, int bufferBytes) {
      this.v = v;
      this.owner = owner;
      this.pieces = pieces;
      this.size = size;
      this.bufferBytes = bufferBytes;
    }

    long run(OutputStream out) throws IOException {
      int payload = v.payload();
      long bytes = 0;
      try {
        checkInterrupt();
        startHelpers();
        while (true) {
          long index;
          int slot;
          boolean own;
          synchronized (this) {
            if (written == claimed && !pieces.hasNext()) {
              break;
            }
            // Only while something is left to write: an interrupt during the last write finds the stream done.
            checkInterrupt();
            slot = (int) (written % WINDOW);
            if (written < claimed && state[slot] == DONE) {
              index = written;
              own = false;
            } else if (claimable()) {
              index = claim();
              if (index < 0) {
                continue;
              }
              slot = (int) (index % WINDOW);
              own = true;
            } else {
              // The next piece to write is a helper's, still being filled, and no other may be claimed.
              callerWaits = true;
              try {
                wait();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while streaming a file");
              } finally {
                callerWaits = false;
              }
              continue;
            }
          }
          if (own) {
            fillSlot(index, slot);
            continue;
          }
          Throwable failed = failure[slot];
          if (failed != null) {
            throw rethrow(failed);
          }
          Piece p = piece[slot];
          int n = (int) Math.min((long) p.count() * payload, size - p.logical() * payload);
          out.write(buf[slot], 0, n);
          bytes += n;
          boolean more;
          synchronized (this) {
            written++;
            state[slot] = FREE;
            piece[slot] = null;
            more = wantsHelper();
          }
          if (more) {
            HELPERS.execute(this::help);
          }
        }
      } finally {
        close();
        // However the stream ended, no filler holds a buffer now and the sink has none: a failed stream that
        // kept them would leave every later one to allocate fresh ones.
        for (byte[] b : buf) {
          if (b != null) {
            giveBack(b);
          }
        }
      }
      return bytes;
    }

    /** True when the next piece may be claimed now. Holds the monitor. */
    private boolean claimable() {
      return !closed && claimed < failedAt && claimed - written < WINDOW && pieces.hasNext();
    }

    /**
     * Claims the next piece into its slot; returns its index, or -1 when cutting the piece failed (an
     * {@code Error}), which is then that piece's failure, reported in its turn like any other: a claimed piece
     * that was never finished would leave the caller waiting for it forever. Holds the monitor.
     */
    private long claim() {
      long index = claimed++;
      int slot = (int) (index % WINDOW);
      state[slot] = FILLING;
      try {
        piece[slot] = pieces.next();
      } catch (Throwable t) {
        finished(index, slot, t);
        return -1;
      }
      return index;
    }

    /**
     * Fills piece {@code index} (claimed by this thread) and records how that went, whatever is thrown. The
     * slot's buffer is taken here, outside the monitor, the first time the slot is used.
     */
    private void fillSlot(long index, int slot) {
      Throwable failed = null;
      try {
        if (buf[slot] == null) {
          buf[slot] = takeBuffer(bufferBytes);
        }
        fill(v, owner, piece[slot], buf[slot]);
      } catch (Throwable t) {
        failed = t;
      }
      finished(index, slot, failed);
    }

    /** Marks piece {@code index} done, failed with {@code failed} unless that is null. */
    private synchronized void finished(long index, int slot, Throwable failed) {
      state[slot] = DONE;
      failure[slot] = failed;
      if (failed != null) {
        failedAt = Math.min(failedAt, index);
      }
      if (callerWaits) {
        notifyAll();
      }
    }

    /** A helper's run: claims and fills pieces until none may be claimed. */
    private void help() {
      synchronized (this) {
        queued--;
        if (closed) {
          return;
        }
        running++;
      }
      try {
        while (true) {
          long index;
          synchronized (this) {
            if (!claimable()) {
              return;
            }
            index = claim();
          }
          if (index >= 0) {
            fillSlot(index, (int) (index % WINDOW));
          }
        }
      } finally {
        synchronized (this) {
          running--;
          if (closed && running == 0) {
            notifyAll();
          }
        }
      }
    }

    private void startHelpers() {
      int n;
      synchronized (this) {
        n = HELPER_COUNT;
        queued += n;
      }
      for (int i = 0; i < n; i++) {
        HELPERS.execute(this::help);
      }
    }

    /**
     * True (and counted as queued) when another helper should start: fewer than {@link #HELPER_COUNT} are queued
     * or running and a piece may be claimed. Holds the monitor.
     */
    private boolean wantsHelper() {
      if (queued + running < HELPER_COUNT && claimable()) {
        queued++;
        return true;
      }
      return false;
    }

    /**
     * Ends the stream: nothing more is claimed, and this returns once no helper is filling a piece, so that none
     * reads for it after the caller lets its pin go. Waits through interrupts, keeping the thread's status.
     */
    private void close() {
      boolean interrupted = false;
      synchronized (this) {
        closed = true;
        while (running > 0) {
          try {
            wait();
          } catch (InterruptedException e) {
            interrupted = true;
          }
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }

    private static void checkInterrupt() throws InterruptedIOException {
      if (Thread.currentThread().isInterrupted()) {
        throw new InterruptedIOException("interrupted while streaming a file");
      }
    }

    /** A failure recorded by a filler, to be thrown by the caller as it was. */
    private static IOException rethrow(Throwable t) {
      if (t instanceof IOException io) {
        return io;
      }
      if (t instanceof RuntimeException re) {
        throw re;
      }
      if (t instanceof Error e) {
        throw e;
      }
      return new IOException("streaming a file failed: " + t, t);
    }
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
        n = (int) Math.max(1, Math.min(limit, ExtentMap.nextMapped(xs, l)) - l);
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
    ByteBuffer raw = takeRawBuffer(p.count() * bs);
    try {
      return check(v, owner, p, dst, journaled, raw);
    } finally {
      giveRawBuffer(raw);
    }
  }

  /** {@link #fill}'s reading and checking, with {@code raw} held. */
  private static byte[] check(Volume v, long owner, Piece p, byte[] dst, byte[][] journaled, ByteBuffer raw)
      throws IOException {
    int bs = v.blockSize();
    int payload = v.payload();
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
   * Piece buffers kept between streams, at most one stream's worth ({@link #WINDOW}), each of {@link #PIECE_BYTES}
   * (which holds the payloads of a piece at any block size). A fresh 4 MiB array is cleared by the JVM, and in heap
   * the process has not touched yet each of its pages is faulted in on first touch (about 10 µs per 4 KiB page
   * here): the two fresh ones each stream took cost some 20 ms of CPU per stream, a sixth of a cached 1 GiB stream.
   * Soft references, so that the collector may take them back when memory runs short.
   */
  private static final ArrayBlockingQueue<SoftReference<byte[]>> POOL = new ArrayBlockingQueue<>(WINDOW);

  /**
   * A buffer for at least {@code bytes}: a pooled one, or a new one, of {@link #PIECE_BYTES} when more than half
   * of that is asked for. Smaller needs (small files, short pieces) get an array of their own size and never
   * touch the pool.
   */
  private static byte[] takeBuffer(int bytes) {
    if (bytes <= PIECE_BYTES / 2) {
      return new byte[bytes];
    }
    byte[] b = null;
    for (SoftReference<byte[]> r = POOL.poll(); r != null; r = POOL.poll()) {
      b = r.get();
      if (b != null) {
        break;
      }
    }
    if (b == null) {
      b = new byte[PIECE_BYTES];
    }
    OUT.incrementAndGet();
    return b;
  }

  /** Keeps a full-size buffer for a later stream once nothing reads or writes it any more, unless the pool is full. */
  private static void giveBack(byte[] b) {
    if (b.length == PIECE_BYTES) {
      OUT.decrementAndGet();
      POOL.offer(new SoftReference<>(b));
    }
  }

  /** Full-size buffers taken by {@link #takeBuffer} and not given back. */
  private static final AtomicInteger OUT = new AtomicInteger();

  /**
   * Full-size piece buffers taken and not given back: zero whenever no stream runs, however the streams ended.
   * Tests check that failed streams give theirs back.
   */
  static int buffersOut() {
    return OUT.get();
  }

  /** A read buffer of at least {@code bytes}, cleared and limited to them; give it back with giveRawBuffer. */
  private static ByteBuffer takeRawBuffer(int bytes) {
    // By index, not by equals(): a ByteBuffer equals any other with the same remaining bytes.
    synchronized (RAW) {
      for (int i = 0; i < RAW.size(); i++) {
        if (RAW.get(i).capacity() >= bytes) {
          ByteBuffer b = RAW.remove(i);
          b.clear().limit(bytes);
          return b;
        }
      }
    }
    // Whole 64 KiB units, at least one: a full piece's blocks are a little over 4 MiB, which a power of two
    // would round up to 8.
    int cap = (Math.max(1, (bytes + (64 << 10) - 1) >>> 16)) << 16;
    ByteBuffer b = ByteBuffer.allocateDirect(cap).order(ByteOrder.LITTLE_ENDIAN);
    b.limit(bytes);
    return b;
  }

  /** Keeps {@code b} for later pieces, in place of a smaller one when enough are kept already. */
  private static void giveRawBuffer(ByteBuffer b) {
    synchronized (RAW) {
      if (RAW.size() < RAW_KEPT) {
        RAW.add(b);
        return;
      }
      int smallest = 0;
      for (int i = 1; i < RAW.size(); i++) {
        if (RAW.get(i).capacity() < RAW.get(smallest).capacity()) {
          smallest = i;
        }
      }
      if (RAW.get(smallest).capacity() < b.capacity()) {
        RAW.set(smallest, b);
      }
    }
  }

}
