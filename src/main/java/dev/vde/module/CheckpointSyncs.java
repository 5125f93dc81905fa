package dev.vde.module;

import dev.vde.fs.Volume;
import dev.vde.io.ReadAhead;
import java.io.IOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The device syncs behind a running migration's checkpoint records, each on a thread of its own while the copy
 * goes on: the host file system writes out what the copier wrote while the copier converts the next batches,
 * instead of the two taking turns. At most one sync is in flight.
 *
 * <p>The copier keeps the order a record needs (InodeMigration): at a checkpoint position it waits here for the
 * sync in flight, which made the new-table blocks below the previous position durable, then writes the record of
 * that previous position (unsynced), then starts the next sync, which makes that record durable together with the
 * blocks below the current position. So a record is written only after the blocks it counts are durable, and it
 * becomes durable by the sync after it, by the time the copier reaches the position after next. Why: in a
 * million-inode migration command the copier spent a quarter of a second in those syncs, waiting while the
 * device wrote tens of megabytes of new table that it could have gone on producing.
 */
final class CheckpointSyncs implements AutoCloseable {
  private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "vde-migration-sync");
    t.setDaemon(true);
    return t;
  });
  private Future<?> inFlight;
  /** The watermark whose blocks the sync in flight makes durable; -1 when none is in flight. */
  private long position = -1;

  /**
   * Starts a sync that makes durable every block written so far, once every transaction committed so far is: the
   * copier read published images, which may belong to transactions not yet in the WAL, and the record that will
   * count {@code watermark} may only count them once they are durable.
   */
  void start(Volume v, long watermark) {
    if (inFlight != null) {
      throw new IllegalStateException("a checkpoint sync is already in flight");
    }
    long ticket = v.journal().lastTicket();
    inFlight = thread.submit(() -> {
      v.journal().awaitDurable(ticket);
      v.journal().syncOutsideWal();
      return null;
    });
    position = watermark;
  }

  /** Whether no sync is in flight, or the one in flight has returned: {@link #await} would not wait. */
  boolean isDone() {
    return inFlight == null || inFlight.isDone();
  }

  /**
   * Waits for the sync in flight; returns the watermark it made durable, or -1 when none was in flight. A sync
   * that failed throws here, and the migration stops with its error: the journal has stopped the volume, and the
   * last durable record is still the one a reopen resumes from.
   */
  long await() throws IOException {
    if (inFlight == null) {
      return -1;
    }
    Future<?> f = inFlight;
    long p = position;
    inFlight = null;
    position = -1;
    // Through interrupts, as the device finishes a call an interrupt cut short and leaves the status for the caller.
    ReadAhead.joinUninterruptibly(f);
    return p;
  }

  /**
   * Waits for a sync still in flight (the migration failed or was cancelled between two positions), ignoring how
   * it ends, then ends the thread: nothing of the migration touches the volume after the call that ran it returns.
   */
  @Override
  public void close() {
    try {
      await();
    } catch (IOException | RuntimeException e) {
      // The migration's own failure, already thrown, or a sync the copy no longer needs: the volume's journal
      // has recorded it if it matters (a failed sync stops the volume).
    } finally {
      thread.shutdown();
    }
  }
}
