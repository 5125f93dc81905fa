package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Rate and ETA measure the work done while the phase was watched. A phase can begin part-way (a migration resumed
 * at its checkpoint): counting what was done before as if it had been done since made the rate many times too
 * high and the ETA many times too short.
 */
class ProgressRateTest extends ProgressCaptureBase {
  @Test
  void json_aPhaseThatBeginsPartWay_ratesOnlyWhatWasDoneSince() throws IOException {
    try (ProgressReporter r = ProgressReporter.create(ProgressMode.JSON, err, false, clock::get)) {
      r.update("migrating inodes", 900_000, 1_000_000, "inodes");
      clock.addAndGet(1_000 * MS);
      r.update("migrating inodes", 910_000, 1_000_000, "inodes");
    }
    List<JsonNode> lines = lines();
    assertThat(lines).hasSize(2);
    assertThat(lines.get(0).get("rate").asDouble()).isZero();
    assertThat(lines.get(0).get("etaSeconds").isNull()).as("no rate yet, so no ETA").isTrue();
    assertThat(lines.get(1).get("rate").asDouble()).as("10,000 inodes in one second").isEqualTo(10_000.0);
    assertThat(lines.get(1).get("etaSeconds").asDouble()).as("90,000 left at 10,000/s").isEqualTo(9.0);
  }

  @Test
  void json_rateAndEtaAreNeverNegative_whenAProducerReportsLessThanBefore() throws IOException {
    try (ProgressReporter r = ProgressReporter.create(ProgressMode.JSON, err, false, clock::get)) {
      r.update("scanning", 500, 1000, "blocks");
      clock.addAndGet(1_000 * MS);
      r.update("scanning", 400, 1000, "blocks");
    }
    for (JsonNode line : lines()) {
      assertThat(line.get("rate").asDouble()).as("rate in %s", line).isGreaterThanOrEqualTo(0);
      assertThat(line.get("etaSeconds").isNull() || line.get("etaSeconds").asDouble() >= 0).as("ETA in %s", line)
          .isTrue();
    }
  }

  /** The bar's speed, as it draws it ("123.4 blocks/s"). */
  private static double barSpeed(String drawn) {
    Matcher m = Pattern.compile("([0-9.,]+) blocks/s").matcher(drawn);
    double last = -1;
    while (m.find()) {
      last = Double.parseDouble(m.group(1).replace(",", ""));
    }
    return last;
  }

  @Test
  void bar_aPhaseThatBeginsPartWay_drawsTheSpeedOfWhatIsDoneSince() throws Exception {
    try (ProgressReporter r = ProgressReporter.create(ProgressMode.BAR, err, false, clock::get)) {
      r.update("migrating", 900, 1000, "blocks");
      clock.addAndGet(ProgressReporter.BAR_DELAY_NANOS + MS);
      r.update("migrating", 900, 1000, "blocks");
      // The bar library measures its speed by the wall clock, in whole seconds.
      Thread.sleep(1_100);
      r.update("migrating", 910, 1000, "blocks");
    }
    double speed = barSpeed(bytes.toString(StandardCharsets.UTF_8));
    // 10 blocks in the 1.1 s (or more, on a loaded machine) since the bar appeared; the old speed was 910/s.
    assertThat(speed).as("speed drawn in: %s", bytes.toString(StandardCharsets.UTF_8)).isBetween(0.0, 10.0);
  }
}
