package dev.vde.module;

import java.io.InterruptedIOException;
import java.util.concurrent.locks.LockSupport;

/**
 * A token bucket limiting background I/O to a number of block operations per second; every block read or
 * written costs one token, so a 16-block batch costs 16. The rate can change while work runs; 0 means
 * unlimited. The bucket holds at most a tenth of a second of tokens (or one request's cost, if more: else it could
 * never be paid), so a pause does not turn into a burst.
 */
public final class IopsThrottle {
  /** Where the throttle reads the time and waits; tests substitute one whose time moves only when it waits. */
  interface Clock {
    Clock SYSTEM = new Clock() {
      @Override
      public long nanoTime() {
        return System.nanoTime();
      }

      @Override
      public void park(long nanos) {
        LockSupport.parkNanos(nanos);
      }
    };

    long nanoTime();

    void park(long nanos);
  }

  private final Clock clock;
  private volatile long ratePerSecond;
  private double tokens;
  private long last;

  public IopsThrottle(long ratePerSecond) {
    this(ratePerSecond, Clock.SYSTEM);
  }

  IopsThrottle(long ratePerSecond, Clock clock) {
    this.clock = clock;
    this.last = clock.nanoTime();
    setRate(ratePerSecond);
  }

  public void setRate(long ratePerSecond) {
    if (ratePerSecond < 0) {
      throw new IllegalArgumentException("IOPS limit must be >= 0, got " + ratePerSecond);
    }
    this.ratePerSecond = ratePerSecond;
  }

  public long rate() {
    return ratePerSecond;
  }

  /** Largest batch worth asking for at the current rate (about a tenth of a second of I/O), at least 1. */
  public long suggestedBatch(long preferred) {
    long r = ratePerSecond;
    return r == 0 ? preferred : Math.max(1, Math.min(preferred, r / 10));
  }

  /** Blocks until {@code ops} operations may proceed. */
  public void acquire(long ops) throws InterruptedIOException {
    acquire(ops, () -> false);
  }

  /**
   * Blocks until {@code ops} operations may proceed, or until {@code stop} says to give up waiting (checked at
   * least every 0.1 s): a cancel or pause must not wait out a debt that a lowered limit made long. Giving up still
   * charges the operations, leaving the bucket in debt: a caller that has already done them (a migration pays for
   * a batch after copying it) would otherwise exceed the limit by a batch each time it is paused. The time paused
   * pays the debt off, as it would have been paid by waiting.
   *
   * @throws InterruptedIOException if the thread is interrupted while it waits; its interrupt status stays set
   */
  public synchronized void acquire(long ops, java.util.function.BooleanSupplier stop) throws InterruptedIOException {
    while (true) {
      long r = ratePerSecond;
      long now = clock.nanoTime();
      if (r == 0) {
        // Keep the clock current, so switching from unlimited to a limit does not count the idle time.
        last = now;
        tokens = 0;
        return;
      }
      // In double: a long idle gap times a high rate would overflow a long and turn into a huge debt.
      double earned = (now - last) / 1e9 * r;
      tokens = Math.min(Math.max(r / 10.0, ops), tokens + earned);
      last = now;
      if (tokens >= ops) {
        tokens -= ops;
        return;
      }
      if (stop.getAsBoolean()) {
        tokens -= ops;
        return;
      }
      // Rounded up (and at least 1 ns): a wait rounded down to nothing would only spin until the clock moved on.
      long waitNanos = (long) Math.ceil((ops - tokens) * 1e9 / r);
      clock.park(Math.max(1, Math.min(waitNanos, 100_000_000L)));
      // Checked without clearing it: the interrupt is the caller's to see (a command being stopped, a pool
      // shutting down), and the park returns at once while it is set, so a loop here would only spin.
      if (Thread.currentThread().isInterrupted()) {
        throw new InterruptedIOException("interrupted while throttled");
      }
    }
  }
}
