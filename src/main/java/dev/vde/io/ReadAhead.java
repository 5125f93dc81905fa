package dev.vde.io;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Reads the next piece of a long sequential transfer on another thread while the caller checks and writes the
 * current one, so checksum work overlaps the device's. Daemon threads: an open volume never keeps the JVM alive.
 */
public final class ReadAhead {
  private static final ExecutorService POOL = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "vde-read-ahead");
    t.setDaemon(true);
    return t;
  });

  private ReadAhead() {}

  /** An I/O step to run ahead. */
  @FunctionalInterface
  public interface Read<T> {
    T run() throws IOException;
  }

  public static <T> Future<T> submit(Read<T> read) {
    Callable<T> c = read::run;
    return POOL.submit(c);
  }

  /** Waits for a read started by {@link #submit}, rethrowing its I/O error as it was. */
  public static <T> T join(Future<T> f) throws IOException {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while reading ahead");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw new IOException("read-ahead failed: " + e.getCause(), e.getCause());
    }
  }

  /**
   * Waits for a task even when this thread is interrupted (its status is kept and set again on the way out), then
   * rethrows its failure as {@link #join} does: for a step a caller must see to its end before going on, such as a
   * sync whose outcome decides what the caller may record next.
   */
  public static <T> T joinUninterruptibly(Future<T> f) throws IOException {
    boolean interrupted = Thread.interrupted();
    try {
      while (true) {
        try {
          return f.get();
        } catch (InterruptedException ie) {
          interrupted = true;
        } catch (ExecutionException e) {
          if (e.getCause() instanceof IOException io) {
            throw io;
          }
          if (e.getCause() instanceof RuntimeException re) {
            throw re;
          }
          if (e.getCause() instanceof Error err) {
            throw err;
          }
          throw new IOException("background step failed: " + e.getCause(), e.getCause());
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Waits for a task however it ends, even when this thread is interrupted (its status is kept): after a failure,
   * a caller about to release its lock must know that no task is still reading for it.
   */
  public static void awaitQuietly(Future<?> f) {
    boolean interrupted = Thread.interrupted();
    while (true) {
      try {
        f.get();
        break;
      } catch (InterruptedException ie) {
        interrupted = true;
      } catch (ExecutionException | CancellationException failed) {
        // The first failure is the one the caller reports.
        break;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
