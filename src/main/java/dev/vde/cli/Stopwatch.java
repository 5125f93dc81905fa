package dev.vde.cli;


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
    return Numbers.groupedWhole(files / secs) + " files/s, " + Numbers.fixed(bytes / secs / (1 << 20), 1) + " MiB/s";
  }

  private static String seconds(long nanos) {
    return Numbers.fixed(nanos / 1e9, 2) + " s";
  }
}
