package dev.vde.fs;

import dev.vde.VdeException;
import dev.vde.wal.Journal;
import java.io.IOException;

/**
 * Makes deferred commits durable (see {@link VirtualDisk#setCommitWindow}): a daemon thread that, once a commit
 * has waited for the window it returned under (or a shorter one set since), leads one group commit of everything
 * queued by then. A window changed later never makes a waiting commit wait longer.
 *
 * <p>It changes only who waits for a transaction and when, never what is written or in which order: transactions
 * go to the WAL in commit order, as with every other group, so a crash keeps a prefix of them. A committing
 * thread that finds {@link #MAX_UNSYNCED} transactions not yet durable leads a group itself, which bounds the
 * memory the queue holds and how much a crash can take back.
 *
 * <p>Only {@link #stop} ends the thread, and only a failed journal otherwise: an interrupt does not. Code that
 * interrupts threads it does not own reaches this one too, and a thread that ended then left every later commit
 * not durable until a sync or close, since nothing else leads the window's groups. An interrupt during a group
 * commit is kept by the journal until the group is written ({@link Journal#awaitDurable}), and then dropped here.
 *
 * <p>A flush that fails stops the volume (the journal keeps the failure, and every later write and sync reports
 * it), but the operations it was writing have returned already, and nobody waits for them. {@link #checkNothingLost}
 * lets {@code close()}, which promises durability, report them instead of returning normally.
 */
final class CommitFlusher {
  /** Transactions that may wait for the flusher; past this the committing thread syncs them itself. */
  static final int MAX_UNSYNCED = 256;

  private final Journal journal;
  private final String name;
  private final Object lock = new Object();
  /** Newest ticket handed over and not yet durable through this flusher (guarded by {@code lock}). */
  private long wanted;
  /**
   * When the next group is due (System.nanoTime): the earliest of each waiting commit's arrival plus the window it
   * returned under, so a window changed later never makes a waiting commit wait longer (guarded by {@code lock}).
   */
  private long deadline;
  /** Whether a commit waits for the next group (guarded by {@code lock}). */
  private boolean pending;
  private boolean stopped;
  private Thread thread;

  CommitFlusher(Journal journal, String name) {
    this.journal = journal;
    this.name = name;
  }

  /** Takes a published transaction whose caller does not wait for it. */
  void committed(long ticket, long window) throws IOException {
    if (ticket - journal.durableTicket() > MAX_UNSYNCED) {
      journal.awaitDurable(ticket);
      return;
    }
    synchronized (lock) {
      if (ticket > wanted) {
        wanted = ticket;
      }
      due(System.nanoTime() + window);
      pending = true;
      if (thread == null && !stopped) {
        thread = new Thread(this::run, "vde-commit " + name);
        thread.setDaemon(true);
        thread.start();
      }
    }
  }

  private void run() {
    while (true) {
      long target;
      synchronized (lock) {
        while (!stopped) {
          long left = deadline - System.nanoTime();
          if (pending && left <= 0) {
            break;
          }
          try {
            if (pending) {
              lock.wait(left / 1_000_000 + 1);
            } else {
              lock.wait();
            }
          } catch (InterruptedException e) {
            // Not a request to stop (stop() sets the flag): see the class comment.
          }
        }
        if (stopped) {
          return;
        }
        target = wanted;
        pending = false;
      }
      try {
        journal.awaitDurable(target);
      } catch (IOException e) {
        // The journal keeps the failure: every later operation and sync() reports it, and close() does not
        // checkpoint over it. Nothing more can become durable here.
        return;
      }
    }
  }

  /**
   * Throws when the journal stopped with operations handed to this flusher still not durable: their callers
   * returned under the window and were told of no failure.
   */
  void checkNothingLost() throws IOException {
    long w;
    synchronized (lock) {
      w = wanted;
    }
    long durable = journal.durableTicket();
    if (journal.isFailed() && durable < w) {
      // "May be lost": a group that failed after part of it reached the disk leaves that part to the next open.
      throw new VdeException("operations that returned under the commit window were not made durable and may be "
          + "lost (the newest " + (w - durable) + " transaction(s)); the volume stopped after an I/O error: "
          + journal.failureMessage() + "; reopen it to recover what is on disk", name, null);
    }
  }

  /**
   * The window became {@code window}: commits already waiting become due no later than {@code window} from now (a
   * longer window leaves them as they are, a shorter one, zero included, brings their group forward).
   */
  void windowChanged(long window) {
    synchronized (lock) {
      if (pending) {
        due(System.nanoTime() + window);
      }
    }
  }

  /** Makes the next group due at {@code at} at the latest; wakes the thread if that is earlier. Holds lock. */
  private void due(long at) {
    if (!pending || at - deadline < 0) {
      deadline = at;
      lock.notifyAll();
    }
  }

  /** Stops the thread; what it had not written yet stays queued for the caller (close checkpoints it). */
  void stop() {
    Thread t;
    synchronized (lock) {
      stopped = true;
      t = thread;
      lock.notifyAll();
    }
    if (t != null && t != Thread.currentThread()) {
      boolean interrupted = false;
      while (t.isAlive()) {
        try {
          t.join();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
