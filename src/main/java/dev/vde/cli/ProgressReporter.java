package dev.vde.cli;

import dev.vde.Progress;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Objects;
import java.util.function.LongSupplier;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;

/**
 * Shows the progress of a long operation on stderr, as a bar or as JSON lines, for any command: the engine
 * and the metered streams call {@link #update} and the reporter decides how often to show it. A new phase
 * (or unit) finishes the previous one. Close it when the operation ends.
 *
 * <p>JSON lines are {@code {"phase","done","total","unit","rate","etaSeconds"}}: rate in units per second
 * since the phase's first report (counting only what was done since: a phase may begin part-way), total and etaSeconds null when unknown. They are thinned to a few per second, but the
 * first and the last state of every phase are always written. Bars appear only once a phase has run for a
 * moment, so quick commands do not flash one.
 */
public final class ProgressReporter implements Progress, AutoCloseable {
  static final long JSON_INTERVAL_NANOS = 250_000_000L;
  static final long BAR_DELAY_NANOS = 300_000_000L;
  private static final long MIB = 1L << 20;

  private enum Output { NONE, BAR, JSON }

  private final Output output;
  private final PrintStream err;
  private final LongSupplier nanoClock;

  private String phase;
  private String unit;
  private long done;
  private long total;
  private long phaseStart;
  /** What the phase's first report said was done: a phase may begin part-way (a resumed migration). */
  private long phaseStartDone;
  private long lastJsonAt;
  private boolean latestShown;
  private ProgressBar bar;

  private ProgressReporter(Output output, PrintStream err, LongSupplier nanoClock) {
    this.output = output;
    this.err = err;
    this.nanoClock = nanoClock;
  }

  /** A reporter for the mode the user chose; {@code auto} becomes a bar only on a terminal. */
  public static ProgressReporter create(ProgressMode mode, PrintStream err, boolean errIsTerminal) {
    return create(mode, err, errIsTerminal, System::nanoTime);
  }

  static ProgressReporter create(ProgressMode mode, PrintStream err, boolean errIsTerminal, LongSupplier clock) {
    Output output = switch (mode) {
      case AUTO -> errIsTerminal ? Output.BAR : Output.NONE;
      case BAR -> Output.BAR;
      case JSON -> Output.JSON;
      case NONE -> Output.NONE;
    };
    return new ProgressReporter(output, err, clock);
  }

  @Override
  public synchronized void update(String phase, long done, long total, String unit) {
    if (output == Output.NONE) {
      return;
    }
    long now = nanoClock.getAsLong();
    if (!Objects.equals(phase, this.phase) || !Objects.equals(unit, this.unit)) {
      finishPhase();
      this.phase = phase;
      this.unit = unit;
      this.phaseStart = now;
      this.phaseStartDone = done;
      this.lastJsonAt = Long.MIN_VALUE;
    }
    this.done = done;
    this.total = total;
    this.latestShown = false;
    if (output == Output.JSON) {
      boolean first = lastJsonAt == Long.MIN_VALUE;
      if (first || done == total || now - lastJsonAt >= JSON_INTERVAL_NANOS) {
        emitJson(now);
      }
    } else {
      showOnBar(now);
    }
  }

  /** Finishes the current phase: writes its last state, completes the bar. */
  @Override
  public synchronized void close() {
    finishPhase();
    phase = null;
    unit = null;
  }

  private void finishPhase() {
    if (phase == null) {
      return;
    }
    if (output == Output.JSON && !latestShown) {
      emitJson(nanoClock.getAsLong());
    }
    if (bar != null) {
      bar.stepTo(done);
      bar.close();
      bar = null;
    }
  }

  private void emitJson(long now) {
    double seconds = (now - phaseStart) / 1e9;
    // Only what was done while this phase was watched: counting the work done before its first report (a resume's
    // checkpoint) as if done since made the rate many times too high and the ETA as much too short.
    double rate = seconds > 0 ? Math.max(0, done - phaseStartDone) / seconds : 0;
    BigDecimal eta = total >= 0 && rate > 0 ? decimal(Math.max(0, total - done) / rate) : null;
    ProgressEvent event = new ProgressEvent(phase, done, total >= 0 ? total : null, unit, decimal(rate), eta);
    err.println(Json.compact(event));
    err.flush();
    lastJsonAt = now;
    latestShown = true;
  }

  private void showOnBar(long now) {
    if (bar == null && now - phaseStart >= BAR_DELAY_NANOS) {
      boolean bytes = "bytes".equals(unit);
      bar = new ProgressBarBuilder()
          .setTaskName(phase)
          .setInitialMax(total)
          .setUnit(bytes ? " MiB" : " " + unit, bytes ? MIB : 1)
          .showSpeed()
          // Its speed and ETA count from what is done now, over the time since: not as if all of it took that long.
          .startsFrom(done, java.time.Duration.ofNanos(now - phaseStart))
          .setConsumer(new ConsoleProgressBarConsumer(err))
          .build();
    }
    if (bar != null) {
      if (total >= 0 && bar.getMax() != total) {
        bar.maxHint(total);
      }
      bar.stepTo(done);
    }
  }

  private static BigDecimal decimal(double value) {
    return BigDecimal.valueOf(value).setScale(1, RoundingMode.HALF_UP);
  }

  /** One JSON progress line; the component order is the key order. */
  record ProgressEvent(String phase, long done, Long total, String unit, BigDecimal rate, BigDecimal etaSeconds) {}
}
