package dev.vde.cli;

import java.util.Locale;

/** Times the demo's steps and words their speed. */
final class Stopwatch {
  private final long start = System.nanoTime();
  private long lapStart = start;
  private long lastLapNanos;

  /** Ends the current lap, starts the next, and returns the lap's duration as text. */
  String lap() {
    long now = System.nanoTime();
    lastLapNanos = now - lapStart;
    lapStart = now;
    return seconds(lastLapNanos);
  }

  String total() {
    return seconds(System.nanoTime() - start);
  }

  /** "370 files/s, 38.5 MiB/s" for the last lap. */
  String rates(long files, long bytes) {
    double secs = Math.max(lastLapNanos, 1) / 1e9;
    return String.format(Locale.ROOT, "%,.0f files/s, %.1f MiB/s", files / secs, bytes / secs / (1 << 20));
  }

  private static String seconds(long nanos) {
    return String.format(Locale.ROOT, "%.2f s", nanos / 1e9);
  }
}
