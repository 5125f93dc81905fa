package dev.vde.module;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InterruptedIOException;
import org.junit.jupiter.api.Test;

/**
 * The token bucket's arithmetic, on a clock that moves only while the throttle waits: what it grants over a span
 * of time is exact, however loaded the machine running the test.
 */
class IopsThrottleTest {
  private static final long SECOND = 1_000_000_000L;

  /** Time moves when the throttle parks, or when the test says so. */
  private static final class FakeClock implements IopsThrottle.Clock {
    long now = 5 * SECOND;
    long parked;
    int parks;

    @Override
    public long nanoTime() {
      return now;
    }

    @Override
    public void park(long nanos) {
      assertThat(nanos).as("a wait").isPositive().isLessThanOrEqualTo(100_000_000L);
      now += nanos;
      parked += nanos;
      parks++;
    }
  }

  private final FakeClock clock = new FakeClock();

  @Test
  void atNIops_aRunOfKnownIoTakesKOverNSeconds_lessAtMostTheBucket() throws InterruptedIOException {
    for (long rate : new long[] {1, 7, 100, 2_000, 1_000_000}) {
      IopsThrottle t = new IopsThrottle(rate, clock);
      long start = clock.now;
      long ops = 0;
      long batch = t.suggestedBatch(256);
      // Twenty seconds of I/O at this rate, in the batches the throttle suggests.
      while (ops < 20 * rate) {
        t.acquire(batch);
        ops += batch;
      }
      double seconds = (clock.now - start) / 1e9;
      double expected = (double) ops / rate;
      // The bucket starts empty and time moves only while waiting, so every token is waited for, and the last
      // wait ends once the batch is covered (rounded up to the next nanosecond per wait).
      assertThat(seconds).as("seconds for %d ops at %d IOPS", ops, rate)
          .isBetween(expected - 1e-6, expected + clock.parks * 1e-9 + 1e-6);
    }
  }

  @Test
  void anIdleBucket_grantsAtMostATenthOfASecondAtOnce() throws InterruptedIOException {
    IopsThrottle t = new IopsThrottle(1_000, clock);
    clock.now += 3_600 * SECOND;
    t.acquire(100);
    assertThat(clock.parks).as("a tenth of a second of tokens is there").isZero();
    t.acquire(1);
    assertThat(clock.parked).as("but nothing more: the next op waits its 1 ms").isEqualTo(1_000_000L);
  }

  @Test
  void aBatchLargerThanTheBucket_isGrantedFromAFullBucket_butNothingMore() throws InterruptedIOException {
    IopsThrottle t = new IopsThrottle(100, clock);
    clock.now += 60 * SECOND;
    // The bucket holds a batch's cost when that is more than a tenth of a second: else it could never be paid.
    t.acquire(512);
    assertThat(clock.parks).isZero();
    t.acquire(512);
    assertThat(clock.parked).as("the next batch waits its whole cost: 5.12 s").isBetween(5_120_000_000L,
        5_120_000_000L + clock.parks);
  }

  @Test
  void zeroIsUnlimited_andALimitSetLaterDoesNotCountTheUnlimitedTime() throws InterruptedIOException {
    IopsThrottle t = new IopsThrottle(0, clock);
    for (int i = 0; i < 1_000; i++) {
      t.acquire(1_000_000);
    }
    assertThat(clock.parks).isZero();
    clock.now += 60 * SECOND;
    t.acquire(1);
    t.setRate(10);
    t.acquire(1);
    assertThat(clock.parked).as("no tokens saved up while unlimited: one op at 10 IOPS").isEqualTo(100_000_000L);
  }

  @Test
  void theHighestRates_grantAtOnce_withoutOverflow() throws InterruptedIOException {
    IopsThrottle t = new IopsThrottle(Long.MAX_VALUE, clock);
    assertThat(t.suggestedBatch(256)).isEqualTo(256);
    for (int i = 0; i < 1_000; i++) {
      t.acquire(Integer.MAX_VALUE);
      clock.now += 1;
    }
    clock.now += Long.MAX_VALUE / 4;
    t.acquire(1);
    assertThat(clock.parked).as("waited (ns)").isLessThanOrEqualTo(1_000L);
  }

  @Test
  void aLimitChangedWhileWaiting_appliesWithinATenthOfASecond() throws InterruptedIOException {
    IopsThrottle t = new IopsThrottle(1, clock);
    long start = clock.now;
    // 1,000 ops at 1 IOPS would take 1,000 s; raised to 1,000,000 IOPS after the first wait they take no time.
    t.acquire(1_000, () -> {
      t.setRate(1_000_000);
      return false;
    });
    assertThat(clock.now - start).as("waited (ns)").isLessThanOrEqualTo(100_000_000L + 1_000_000L);
  }

  // A stop (pause) forgave the batch a migration had already copied: paused and unpaused every 10 ms, a migration
  // at 100 IOPS did about twice that.
  @Test
  void aStopInTheMiddleOfAWait_stillChargesTheOps_soPausesDoNotRaiseTheRate() throws InterruptedIOException {
    IopsThrottle t = new IopsThrottle(100, clock);
    long start = clock.now;
    long ops = 0;
    for (int cycle = 0; cycle < 1_000; cycle++) {
      // A batch of 20 copied, then paid for; a pause arrives during the wait, and lasts 10 ms.
      boolean[] asked = {false};
      t.acquire(20, () -> {
        boolean stop = asked[0];
        asked[0] = true;
        return stop;
      });
      ops += 20;
      clock.now += 10_000_000L;
    }
    // The next batch after the last pause is paid for in full, and closes the span measured.
    t.acquire(20);
    ops += 20;
    double seconds = (clock.now - start) / 1e9;
    assertThat(ops / seconds).as("IOPS over %s s", seconds).isLessThanOrEqualTo(100 * 1.02);
    assertThat(ops / seconds).as("IOPS over %s s", seconds).isGreaterThanOrEqualTo(100 * 0.98);
  }

  @Test
  void aStopsDebt_isPaidOffByTheTimePaused() throws InterruptedIOException {
    IopsThrottle t = new IopsThrottle(100, clock);
    t.acquire(50, () -> true);
    clock.now += 200_000_000L;
    t.acquire(1);
    assertThat(clock.parked).as("50 owed, 20 earned while paused: 31 ops at 100 IOPS").isBetween(310_000_000L,
        310_000_000L + clock.parks);
    clock.parked = 0;
    clock.now += 60 * SECOND;
    t.acquire(10);
    assertThat(clock.parked).as("a long pause pays everything off").isZero();
  }

  // The throttle threw on an interrupt with Thread.interrupted(), which cleared the status: the command being
  // stopped, or a pool shutting its worker down, no longer saw that it had asked.
  @Test
  void anInterruptWhileWaiting_throws_andLeavesTheInterruptStatusSet() {
    IopsThrottle t = new IopsThrottle(10, clock);
    Thread.currentThread().interrupt();
    try {
      assertThatThrownBy(() -> t.acquire(5)).isInstanceOf(InterruptedIOException.class)
          .hasMessageContaining("interrupted while throttled");
      assertThat(Thread.currentThread().isInterrupted()).as("interrupt status after the throw").isTrue();
      assertThat(clock.parks).as("gave up after one wait").isEqualTo(1);
    } finally {
      Thread.interrupted();
    }
  }
}
