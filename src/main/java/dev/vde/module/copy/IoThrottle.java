package dev.vde.module.copy;

import java.io.InterruptedIOException;
import java.util.concurrent.TimeUnit;

/**
 * A token bucket over block I/Os: {@code rate} tokens a second, at most a tenth of a second's worth banked.
 * {@link #acquire} takes tokens, going into debt and then sleeping it off, so a large request waits exactly as
 * long as its share of the rate. Used by one thread.
 */
final class IoThrottle {
  private static final long BURST_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final long rate;
  private final double nanosPerIo;
  /** The instant at which the bucket is empty again; earlier than now minus the burst means it is full. */
  private long emptyAt;

  private IoThrottle(long rate) {
    this.rate = rate;
    this.nanosPerIo = rate == 0 ? 0 : 1e9 / rate;
    this.emptyAt = System.nanoTime() - BURST_NANOS;
  }

  /** A throttle allowing {@code iopsLimit} block I/Os a second; 0 allows any number. */
  static IoThrottle of(long iopsLimit) {
    if (iopsLimit < 0) {
      throw new IllegalArgumentException("negative I/O limit " + iopsLimit);
    }
    return new IoThrottle(iopsLimit);
  }

  boolean limited() {
    return rate > 0;
  }

  /**
   * Largest number of blocks one transfer should move: a twentieth of a second's worth under a limit, so the
   * pace stays even instead of alternating long bursts and long sleeps.
   */
  int transferLimit(int otherwise) {
    return limited() ? (int) Math.max(1, Math.min(otherwise, rate / 20)) : otherwise;
  }

  /** Takes {@code ios} tokens, sleeping until the rate allows them. */
  void acquire(long ios) throws InterruptedIOException {
    if (!limited() || ios <= 0) {
      return;
    }
    long now = System.nanoTime();
    if (emptyAt - (now - BURST_NANOS) < 0) {
      emptyAt = now - BURST_NANOS;
    }
    emptyAt += (long) (ios * nanosPerIo);
    long wait = emptyAt - now;
    if (wait > 0) {
      try {
        TimeUnit.NANOSECONDS.sleep(wait);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while pacing the copy to " + rate + " I/Os per second");
      }
    }
  }
}
