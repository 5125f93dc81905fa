package dev.vde.cli;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** Timestamps of the volume (milliseconds since the epoch) as ISO-8601 text in UTC, to the second. */
final class Times {
  private Times() {}

  /** Null for 0, which the format uses for "never set". */
  static String iso(long epochMillis) {
    return epochMillis == 0 ? null : Instant.ofEpochMilli(epochMillis).truncatedTo(ChronoUnit.SECONDS).toString();
  }
}
