package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProgressReporterTest extends ProgressCaptureBase {
  @Test
  void jsonLinesCarryEveryKeyWithRateAndEta() throws IOException {
    try (ProgressReporter r = ProgressReporter.create(ProgressMode.JSON, err, false, clock::get)) {
      r.update("writing", 0, 1000, "bytes");
      clock.addAndGet(500 * MS);
      r.update("writing", 500, 1000, "bytes");
      clock.addAndGet(500 * MS);
      r.update("writing", 1000, 1000, "bytes");
    }
    List<JsonNode> lines = lines();
    assertThat(lines).hasSize(3);
    JsonNode middle = lines.get(1);
    assertThat(middle.fieldNames()).toIterable()
        .containsExactly("phase", "done", "total", "unit", "rate", "etaSeconds");
    assertThat(middle.get("phase").asText()).isEqualTo("writing");
    assertThat(middle.get("done").asLong()).isEqualTo(500);
    assertThat(middle.get("total").asLong()).isEqualTo(1000);
    assertThat(middle.get("unit").asText()).isEqualTo("bytes");
    assertThat(middle.get("rate").asDouble()).isEqualTo(1000.0);
    assertThat(middle.get("etaSeconds").asDouble()).isEqualTo(0.5);
    assertThat(lines.get(0).get("etaSeconds").isNull()).as("no rate yet, so no ETA").isTrue();
    assertThat(lines.get(2).get("done").asLong()).isEqualTo(1000);
  }

  @Test
  void unknownTotalIsNullAndSoIsTheEta() throws IOException {
    try (ProgressReporter r = ProgressReporter.create(ProgressMode.JSON, err, false, clock::get)) {
      clock.addAndGet(1000 * MS);
      r.update("scanning", 10, -1, "blocks");
    }
    JsonNode line = lines().get(0);
    assertThat(line.get("total").isNull()).isTrue();
    assertThat(line.get("etaSeconds").isNull()).isTrue();
  }

  @Test
  void frequentUpdatesAreThinnedButTheLastStateIsAlwaysWritten() throws IOException {
    try (ProgressReporter r = ProgressReporter.create(ProgressMode.JSON, err, false, clock::get)) {
      for (int i = 1; i <= 1000; i++) {
        clock.addAndGet(MS);
        r.update("writing", i, 5000, "bytes");
      }
    }
    List<JsonNode> lines = lines();
    // One second of updates at one per millisecond: the first, one per 250 ms, and the final state.
    assertThat(lines.size()).isBetween(4, 7);
    assertThat(lines.get(lines.size() - 1).get("done").asLong()).isEqualTo(1000);
  }

  @Test
  void aNewPhaseFinishesTheOldOne() throws IOException {
    try (ProgressReporter r = ProgressReporter.create(ProgressMode.JSON, err, false, clock::get)) {
      r.update("superblocks", 1, 2, "blocks");
      clock.addAndGet(MS);
      r.update("superblocks", 2, 2, "blocks");
      clock.addAndGet(MS);
      r.update("inodes", 0, 100, "inodes");
      clock.addAndGet(MS);
      r.update("inodes", 7, 100, "inodes");
    }
    assertThat(lines()).extracting(n -> n.get("phase").asText() + "@" + n.get("done").asLong())
        .containsExactly("superblocks@1", "superblocks@2", "inodes@0", "inodes@7");
  }

  @Test
  void autoIsSilentWhenStderrIsNotATerminal() {
    try (ProgressReporter r = ProgressReporter.create(ProgressMode.AUTO, err, false, clock::get)) {
      r.update("writing", 1, 2, "bytes");
      clock.addAndGet(2000 * MS);
      r.update("writing", 2, 2, "bytes");
    }
    assertThat(bytes.size()).isZero();
  }

  @Test
  void noneIsSilent() {
    try (ProgressReporter r = ProgressReporter.create(ProgressMode.NONE, err, true, clock::get)) {
      r.update("writing", 1, 2, "bytes");
    }
    assertThat(bytes.size()).isZero();
  }

  @Test
  void barAppearsOnlyForOperationsThatTakeAMoment() {
    try (ProgressReporter r = ProgressReporter.create(ProgressMode.BAR, err, false, clock::get)) {
      r.update("writing", 1, 2, "bytes");
      r.update("writing", 2, 2, "bytes");
    }
    assertThat(bytes.size()).as("a quick operation draws no bar").isZero();

    try (ProgressReporter r = ProgressReporter.create(ProgressMode.BAR, err, false, clock::get)) {
      r.update("writing", 0, 4 << 20, "bytes");
      clock.addAndGet(ProgressReporter.BAR_DELAY_NANOS + MS);
      r.update("writing", 2 << 20, 4 << 20, "bytes");
      r.update("writing", 4 << 20, 4 << 20, "bytes");
    }
    assertThat(bytes.toString(StandardCharsets.UTF_8)).contains("writing").contains("100%").contains("MiB");
  }

  @Test
  void meteredStreamsReportEveryByte() throws IOException {
    List<Long> seen = new ArrayList<>();
    byte[] data = new byte[10_000];
    try (MeteredInputStream in = new MeteredInputStream(new java.io.ByteArrayInputStream(data),
        (phase, done, total, unit) -> seen.add(done), "writing", data.length)) {
      assertThat(in.readAllBytes()).hasSize(data.length);
      assertThat(in.count()).isEqualTo(data.length);
    }
    assertThat(seen).startsWith(0L).endsWith((long) data.length);

    seen.clear();
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    try (MeteredOutputStream out = new MeteredOutputStream(sink, (phase, done, total, unit) -> seen.add(done),
        "reading", data.length)) {
      out.write(data, 0, 4000);
      out.write(data, 4000, 6000);
      assertThat(out.count()).isEqualTo(data.length);
    }
    assertThat(sink.size()).isEqualTo(data.length);
    assertThat(seen).containsExactly(0L, 4000L, 10_000L);
  }
}
