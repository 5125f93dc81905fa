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
 * Shows the progress of a long operation on stderr, as a bar, as plain lines or as JSON lines, for any command:
 * the engine and the metered streams call {@link #update} and the reporter decides how often to show it. A new
 * phase (or unit) finishes the previous one. Close it when the operation ends.
 *
 * <p>Plain lines ({@code --progress lines}, for logs and files, where a bar's redraws pile up) read
 * {@code phase: 42% (4,200 of 10,000 inodes), 1,234 inodes/s, ETA 5 s}: one when the phase starts, then one each
 * whole percent more, at most one a second and at least one every 30 s (one a second when the total is unknown),
 * one when the work first reaches its total, and its last state when the phase ends if the last line does not
 * already show it (count and total). Lines are written from {@link #update} only: none while no update comes.
 *
 * <p>The percent shown (bar or line) never falls within a phase. A total can grow while the work runs (a
 * migration's total is the initialized part of the old table, which the foreground's creations extend), and
 * 800 of 1,000 becoming 816 of 2,500 would draw 80% then 32%, as if work had been lost. Lines then keep the
 * highest percent written beside the exact counts until the work catches up; a bar, whose library computes its
 * percent from the counts, keeps its last drawing until the counts give at least as much again.
 *
 * <p>JSON lines are {@code {"phase","done","total","unit","rate","etaSeconds"}}: rate in units per second
 * since the phase's first report (counting only what was done since: a phase may begin part-way), total and
 * etaSeconds null when unknown. They are thinned to a few per second, but the first and the last state of every
 * phase are always written, the last one once. Bars appear only once a phase has run for a moment, so quick
 * commands do not flash one.
 */
public final class ProgressReporter implements Progress, AutoCloseable {
  static final long JSON_INTERVAL_NANOS = 250_000_000L;
  static final long BAR_DELAY_NANOS = 300_000_000L;
  /** Plain lines: no more than one a second, however fast the percent moves. */
  static final long LINES_MIN_INTERVAL_NANOS = 1_000_000_000L;
  /** Plain lines: one at least this often while the work runs, even without a whole percent more. */
  static final long LINES_MAX_INTERVAL_NANOS = 30_000_000_000L;
  private static final long MIB = 1L << 20;

  private enum Output { NONE, BAR, LINES, JSON }

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
  /** The counts of the last JSON line of this phase: a state is written once, however often it is reported. */
  private long lastJsonDone;
  private long lastJsonTotal;
  private boolean latestShown;
  private ProgressBar bar;
  /** The highest fraction done the bar has drawn in this phase; the bar holds while the counts give less. */
  private double barFraction;
  private boolean barHeld;
  /** The highest whole percent of this phase (lines), -1 before one is known. */
  private int linePercent;
  private int lastLinePercent;
  private long lastLineAt;
  private long lastLineDone;
  private long lastLineTotal;
  /** Whether the last line of this phase showed its work done (done at least the total). */
  private boolean lastLineFinished;

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
      case LINES -> Output.LINES;
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
      this.lastJsonDone = -1;
      this.lastJsonTotal = -2;
      this.barFraction = 0;
      this.barHeld = false;
      this.linePercent = -1;
      this.lastLinePercent = -1;
      this.lastLineAt = Long.MIN_VALUE;
      this.lastLineDone = -1;
      this.lastLineFinished = false;
    }
    this.done = done;
    this.total = total;
    this.latestShown = false;
    switch (output) {
      case JSON -> {
        boolean first = lastJsonAt == Long.MIN_VALUE;
        // Reaching the total is written at once, but once: a migration reports its full count again for each
        // of its closing steps, and a reader of the stream took every repeat for another event.
        boolean newCounts = done != lastJsonDone || total != lastJsonTotal;
        if (first || (done == total && newCounts) || now - lastJsonAt >= JSON_INTERVAL_NANOS) {
          emitJson(now);
        }
      }
      case LINES -> showAsLine(now);
      default -> showOnBar(now);
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
    if (output == Output.JSON && !latestShown && (lastJsonDone != done || lastJsonTotal != total)) {
      emitJson(nanoClock.getAsLong());
    }
    if (output == Output.LINES && !latestShown && (lastLineDone != done || lastLineTotal != total)) {
      emitLine(nanoClock.getAsLong());
    }
    if (bar != null) {
      if (!barHeld) {
        bar.stepTo(done);
      }
      bar.close();
      bar = null;
    }
  }

  /** Units per second since the phase's first report. */
  private double rate(long now) {
    double seconds = (now - phaseStart) / 1e9;
    // Only what was done while this phase was watched: counting the work done before its first report (a resume's
    // checkpoint) as if done since made the rate many times too high and the ETA as much too short.
    return seconds > 0 ? Math.max(0, done - phaseStartDone) / seconds : 0;
  }

  private void emitJson(long now) {
    double rate = rate(now);
    BigDecimal eta = total >= 0 && rate > 0 ? decimal(Math.max(0, total - done) / rate) : null;
    ProgressEvent event = new ProgressEvent(phase, done, total >= 0 ? total : null, unit, decimal(rate), eta);
    err.println(Json.compact(event));
    err.flush();
    lastJsonAt = now;
    lastJsonDone = done;
    lastJsonTotal = total;
    latestShown = true;
  }

  private void showAsLine(long now) {
    if (total > 0) {
      linePercent = Math.max(linePercent, (int) (100 * (double) Math.min(done, total) / total));
    } else if (total == 0) {
      linePercent = 100;
    }
    boolean first = lastLineAt == Long.MIN_VALUE;
    // Only the first time: work can go on past its total (a host file growing while it is read, a migration
    // catching up with a total that grew), and each report past it would write a line, not one a second.
    boolean finished = total >= 0 && done >= total && !lastLineFinished;
    long since = first ? 0 : now - lastLineAt;
    boolean due = since >= LINES_MIN_INTERVAL_NANOS
        && (total < 0 || linePercent > lastLinePercent || since >= LINES_MAX_INTERVAL_NANOS);
    if (first || finished || due) {
      emitLine(now);
    }
  }

  private void emitLine(long now) {
    boolean bytes = "bytes".equals(unit);
    String unitText = bytes ? "MiB" : unit;
    double rate = rate(now);
    StringBuilder b = new StringBuilder(phase).append(": ");
    if (total >= 0) {
      b.append(Math.max(linePercent, 0)).append("% (").append(amount(done, bytes)).append(" of ")
          .append(amount(total, bytes)).append(' ').append(unitText).append(')');
    } else {
      b.append(amount(done, bytes)).append(' ').append(unitText);
    }
    if (now > phaseStart) {
      b.append(", ").append(bytes ? Numbers.fixed(rate / MIB, 1) : Numbers.groupedWhole(rate)).append(' ')
          .append(unitText).append("/s");
    }
    if (total >= 0) {
      b.append(", ETA ").append(done >= total ? "0 s" : rate > 0 ? duration((total - done) / rate) : "unknown");
    }
    err.println(b);
    err.flush();
    lastLineAt = now;
    lastLinePercent = linePercent;
    lastLineDone = done;
    lastLineTotal = total;
    lastLineFinished = total >= 0 && done >= total;
    latestShown = true;
  }

  private static String amount(long n, boolean bytes) {
    return bytes ? Numbers.fixed((double) n / MIB, 1) : Numbers.grouped(n);
  }

  /** Whole seconds as "42 s", "3 min 5 s" or "2 h 7 min". */
  static String duration(double seconds) {
    long s = (long) Math.ceil(seconds);
    if (s < 60) {
      return s + " s";
    }
    if (s < 3600) {
      return s / 60 + " min " + s % 60 + " s";
    }
    return Numbers.grouped(s / 3600) + " h " + s % 3600 / 60 + " min";
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
      if (total > 0) {
        double fraction = (double) Math.min(done, total) / total;
        // Held rather than drawn lower (class comment); the counts it shows are then those of its last drawing.
        barHeld = fraction < barFraction;
        if (barHeld) {
          return;
        }
        barFraction = fraction;
      }
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
