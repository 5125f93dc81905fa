package dev.vde.module;

import dev.vde.io.BlockDevice;
import dev.vde.io.ReadAhead;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.Future;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * Reads the old inode table a little ahead of a running migration's copy, on a thread of its own, so that the
 * host's page cache holds each old-table block by the time the copier reads it. What it reads is thrown away.
 *
 * <p>Why: the copier reads the old table in batches under the writer lock, one read at a time, and converts and
 * writes each batch before it reads the next. On a cold cache every batch waited for the device: a million-inode
 * migration spent 0.36-0.44 s of its 0.75 s in those reads, against 0.05 s when the table was cached. Read here,
 * they overlap with the conversion, the writes and the syncs.
 *
 * <p>Correctness does not depend on it. The copier still reads every block itself, under the writer lock, and
 * takes the journal's image of a block the WAL holds ahead of its place (BatchCopier); this class only decides
 * whether that read finds the bytes in memory. It never writes, holds no lock of the volume, and a read that fails
 * here (a damaged device, a volume closed under it) just ends the warming: the copier meets the same failure in its
 * own read and reports it with its block. It is closed (and its last read awaited) before the migration's call
 * returns, so nothing of the migration touches the device after that.
 *
 * <p>It reads only while {@code allowed} says so: not under an IOPS limit, whose budget reads ahead would spend
 * before the copy does, and not while the copy yields to the foreground, whose reads it would compete with. It stays
 * at most {@link #LEAD_BLOCKS} ahead, so it never fills the page cache with a table the copy reaches much later.
 */
final class OldTableWarmer implements AutoCloseable {
  /** Blocks per read: large enough that each read costs one request's overhead per megabyte. */
  static final int CHUNK_BLOCKS = 256;
  /** Farthest the warming runs ahead of the copier, in old-table blocks (32 MiB of 4 KiB blocks). */
  static final long LEAD_BLOCKS = 8192;
  /** How long the warming sleeps when it is far enough ahead, or not allowed to read. */
  private static final long IDLE_NANOS = 1_000_000L;

  private final BlockDevice device;
  private final long start;
  private final long blocks;
  private final int blockSize;
  private final LongSupplier copierAt;
  private final BooleanSupplier allowed;
  private volatile boolean stopped;
  private Future<?> task;

  /**
   * Warms blocks {@code [start, start + blocks)} of {@code device}; {@code copierAt} gives the old-table block (0
   * for the first) the copier reads next.
   */
  OldTableWarmer(BlockDevice device, long start, long blocks, int blockSize, LongSupplier copierAt,
      BooleanSupplier allowed) {
    this.device = device;
    this.start = start;
    this.blocks = blocks;
    this.blockSize = blockSize;
    this.copierAt = copierAt;
    this.allowed = allowed;
  }

  /** Starts warming from where the copier is; returns this. */
  OldTableWarmer start() {
    if (blocks > 0) {
      task = ReadAhead.submit(() -> {
        warm();
        return null;
      });
    }
    return this;
  }

  private void warm() {
    ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK_BLOCKS * blockSize);
    long next = 0;
    while (!stopped && next < blocks) {
      long at = Math.max(0, copierAt.getAsLong());
      // Behind the copier: what it has read is of no use to it any more.
      next = Math.max(next, at);
      if (next >= blocks) {
        return;
      }
      if (next >= at + LEAD_BLOCKS || !allowed.getAsBoolean()) {
        LockSupport.parkNanos(IDLE_NANOS);
        continue;
      }
      int n = (int) Math.min(CHUNK_BLOCKS, blocks - next);
      buf.clear().limit(n * blockSize);
      try {
        device.read((start + next) * blockSize, buf);
      } catch (IOException | RuntimeException e) {
        // The copier's own read of these blocks reports it, with the block; warming is only an optimization.
        return;
      }
      next += n;
    }
  }

  /** Stops the warming and waits for a read in progress: the caller may close the device next. */
  @Override
  public void close() {
    stopped = true;
    if (task != null) {
      ReadAhead.awaitQuietly(task);
    }
  }
}
