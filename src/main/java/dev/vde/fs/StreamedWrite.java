package dev.vde.fs;

import dev.vde.VdeNoSpaceException;
import dev.vde.inode.Extent;
import dev.vde.wal.DataCheck;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The new content of a file written from a stream, staged while the stream is read without holding the writer
 * lock, so a slow stream (a network upload, say) holds back no other writer. The writer lock is taken only
 * briefly: to hold the inode number, to reserve each piece's blocks, and for the transaction that finally maps
 * them ({@link #adoptInto}).
 *
 * <p><b>Invariant.</b> Every block this write has filled is reserved in the allocator's in-memory view and in no
 * transaction's, so no one else allocates it; its inode number is held ({@link InodeStore#holdForStream}), so no
 * other file gets it (data blocks name their owner in their trailer, and the blocks are sealed with it). Until
 * {@link #adoptInto}, nothing durable refers to any of it. After adoption the transaction owns the reservations:
 * its commit publishes them, its abort returns them. {@link #close} returns whatever was not adopted and ends
 * the hold.
 *
 * <p><b>Crash.</b> Nothing is durable but file data in blocks the durable bitmap marks free, so recovery finds
 * free space holding bytes nobody maps, which is what free space may hold. The transaction that maps the blocks
 * is an ordinary one, in ordered mode: more than {@link Volume#DATA_SYNC_THRESHOLD} blocks are synced here,
 * before the writer lock is taken for it (so the sync holds back no one either); fewer are listed in its commit
 * by checksum, as any small transaction's are.
 */
final class StreamedWrite implements AutoCloseable {
  /** Throws once the volume is closed; called under the writer lock, which closing takes. */
  @FunctionalInterface
  interface OpenCheck {
    void check() throws IOException;
  }

  private final Volume vol;
  private final OpenCheck open;
  private final long ino;
  private final List<long[]> runs = new ArrayList<>();
  private final List<Extent> extents = new ArrayList<>();
  private final List<DataCheck> checks = new ArrayList<>();
  private final byte[] buf;
  private long blocks;
  private long bytes;
  private long near;
  private boolean synced;
  private boolean adopted;

  private StreamedWrite(Volume vol, OpenCheck open, long ino) {
    this.vol = vol;
    this.open = open;
    this.ino = ino;
    this.buf = new byte[FileData.IO_BLOCKS * vol.blockSize()];
  }

  /** Holds the inode number of {@code existing} (0: a new file's) and starts staging. */
  static StreamedWrite begin(Volume vol, OpenCheck open, long existing) throws IOException {
    vol.writerLock().lock();
    try {
      open.check();
      vol.checkWritable();
      return new StreamedWrite(vol, open, vol.inodes.holdForStream(existing));
    } finally {
      vol.writerLock().unlock();
    }
  }

  /** The inode number the staged blocks are sealed with: the file's, once adopted. */
  long inode() {
    return ino;
  }

  long bytes() {
    return bytes;
  }

  /** Appends {@code n} bytes of {@code data} to the staged content (every piece but the last fills whole blocks). */
  void append(byte[] data, int n) throws IOException {
    if (bytes % vol.payload() != 0) {
      // A piece after one that ended inside a block would be mapped from the next block on, leaving a gap.
      throw new IllegalStateException("only the last piece may end inside a block");
    }
    int payload = vol.payload();
    long count = (n + (long) payload - 1) / payload;
    // Checks are listed only for a content small enough to be committed with them; a larger one is synced.
    boolean listing = blocks + count <= Volume.DATA_SYNC_THRESHOLD;
    if (!listing) {
      checks.clear();
    }
    long base = blocks;
    FileData.BlockSource src = (l, dst, off) -> {
      int from = (int) ((l - base) * payload);
      System.arraycopy(data, from, dst, off, Math.min(payload, n - from));
    };
    long done = 0;
    while (done < count) {
      long[] run = reserve(count - done, bytes + done * payload);
      extents.add(new Extent(blocks + done, run[0], (int) run[1]));
      FileData.writeRun(vol, ino, run[0], run[1], blocks + done, src, buf, listing ? checks : null);
      done += run[1];
      near = run[0] + run[1];
    }
    blocks += count;
    bytes += n;
  }

  /**
   * Reserves up to {@code max} contiguous blocks after the previous piece if it can, under the writer lock;
   * {@code staged} is how many bytes of the stream are in blocks already, which a refusal reports.
   */
  private long[] reserve(long max, long staged) throws IOException {
    vol.writerLock().lock();
    try {
      open.check();
      vol.checkWritable();
      long[] run;
      try {
        run = vol.reserveUpTo(max, near);
      } catch (VdeNoSpaceException e) {
        // The blocks this stream holds itself are what filled the volume, not someone else's stream.
        throw new VdeNoSpaceException("no free blocks left on the volume for the stream being written, after "
            + staged + " bytes of it (" + reservedBlocks() + " blocks)" + vol.spaceHeldByStreams(reservedBlocks()));
      }
      runs.add(run);
      vol.streamReserved(run[1]);
      return run;
    } finally {
      vol.writerLock().unlock();
    }
  }

  /**
   * Makes a large staged content durable before its transaction, outside the writer lock; a small one is listed
   * by checksum in the commit instead (one sync fewer).
   */
  void syncIfLarge() throws IOException {
    if (blocks > Volume.DATA_SYNC_THRESHOLD) {
      vol.journal().syncOutsideWal();
      synced = true;
    }
  }

  /** Checks held for the commit; none once the content is past the size that is committed with them. */
  int listedChecks() {
    return checks.size();
  }

  private long reservedBlocks() {
    long n = 0;
    for (long[] r : runs) {
      n += r[1];
    }
    return n;
  }

  /** The staged content's extents, from logical block 0. */
  List<Extent> extents() {
    return extents;
  }

  /** Hands the reservations (and the data's checks, unless synced) to {@code t}, which maps the blocks. */
  void adoptInto(Txn t) {
    t.reserved.addAll(runs);
    vol.streamReserved(-reservedBlocks());
    if (!synced) {
      t.checks.addAll(checks);
      t.dataBlocks += blocks;
    }
    adopted = true;
  }

  /** Returns what {@link #adoptInto} did not hand over and ends the inode number's hold. */
  @Override
  public void close() {
    vol.writerLock().lock();
    try {
      if (!adopted) {
        vol.streamReserved(-reservedBlocks());
        for (long[] r : runs) {
          vol.bitmap().unreserve(r[0], r[1]);
        }
      }
      runs.clear();
      vol.inodes.releaseStream(ino);
    } finally {
      vol.writerLock().unlock();
    }
  }
}
