package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

  // A migration reports its full count again for each closing step (the last batch, the swap, the end), and every
  // one of those reports wrote the same final state again.
  @Test
  void theFinalStateIsWrittenOnce_howeverOftenItIsReported() throws IOException {
    try (ProgressReporter r = ProgressReporter.create(ProgressMode.JSON, err, false, clock::get)) {
      r.update("migrating inodes", 0, 12, "inodes");
      clock.addAndGet(MS);
      r.update("migrating inodes", 12, 12, "inodes");
      clock.addAndGet(MS);
      r.update("migrating inodes", 12, 12, "inodes");
      clock.addAndGet(MS);
      r.update("migrating inodes", 12, 12, "inodes");
    }
    assertThat(lines()).extracting(n -> n.get("done").asLong() + "/" + n.get("total").asLong())
        .containsExactly("0/12", "12/12");
  }

  @Test
  void aStateReportedAgainAfterTheIntervalIsWrittenAgain_withItsNewRate() throws IOException {
    try (ProgressReporter r = ProgressReporter.create(ProgressMode.JSON, err, false, clock::get)) {
      r.update("writing", 0, 1000, "bytes");
      clock.addAndGet(500 * MS);
      r.update("writing", 500, 1000, "bytes");
      clock.addAndGet(500 * MS);
      r.update("writing", 500, 1000, "bytes");
    }
    assertThat(lines()).extracting(n -> n.get("done").asLong() + "@" + n.get("rate").asDouble())
        .containsExactly("0@0.0", "500@1000.0", "500@500.0");
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

  // There was no plain-lines mode: a bar redirected to a file wrote every redraw (carriage returns and all).
  @Test
  void linesMode_writesOneLinePerWholePercent_atMostOneASecond_withCountsRateAndEta() {
    try (ProgressReporter r = ProgressReporter.create(ProgressMode.LINES, err, false, clock::get)) {
      r.update("migrating inodes", 0, 1000, "inodes");
      // Ten seconds at 100 inodes a second, one report every 10 ms.
      for (int i = 1; i <= 1000; i++) {
        clock.addAndGet(10 * MS);
        r.update("migrating inodes", i, 1000, "inodes");
      }
    }
    List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
    assertThat(bytes.toString(StandardCharsets.UTF_8)).doesNotContain("\r");
    assertThat(lines.get(0)).isEqualTo("migrating inodes: 0% (0 of 1,000 inodes), ETA unknown");
    assertThat(lines).as("the first, about one a second, the last").hasSizeBetween(10, 12);
    assertThat(lines.get(5)).matches("migrating inodes: [0-9]+% \\([0-9,]+ of 1,000 inodes\\), 100 inodes/s, "
        + "ETA [0-9]+ s");
    assertThat(lines.get(lines.size() - 1)).isEqualTo("migrating inodes: 100% (1,000 of 1,000 inodes), "
        + "100 inodes/s, ETA 0 s");
  }

  @Test
  void linesMode_fastWorkWritesItsFirstAndLastState_slowWorkAtLeastEvery30Seconds() {
    try (ProgressReporter r = ProgressReporter.create(ProgressMode.LINES, err, false, clock::get)) {
      r.update("writing", 0, 4L << 20, "bytes");
      for (int i = 1; i <= 100; i++) {
        clock.addAndGet(MS);
        r.update("writing", i * (4L << 20) / 100, 4L << 20, "bytes");
      }
      r.update("copying", 0, 1_000_000, "blocks");
      for (int i = 1; i <= 90; i++) {
        clock.addAndGet(1_000 * MS);
        r.update("copying", i, 1_000_000, "blocks");
      }
      r.update("scanning", 7, -1, "blocks");
      clock.addAndGet(2_000 * MS);
      r.update("scanning", 27, -1, "blocks");
    }
    assertThat(bytes.toString(StandardCharsets.UTF_8).lines().toList()).containsExactly(
        "writing: 0% (0.0 of 4.0 MiB), ETA unknown",
        "writing: 100% (4.0 of 4.0 MiB), 40.0 MiB/s, ETA 0 s",
        "copying: 0% (0 of 1,000,000 blocks), ETA unknown",
        "copying: 0% (30 of 1,000,000 blocks), 1 blocks/s, ETA 277 h 46 min",
        "copying: 0% (60 of 1,000,000 blocks), 1 blocks/s, ETA 277 h 45 min",
        "copying: 0% (90 of 1,000,000 blocks), 1 blocks/s, ETA 277 h 45 min",
        "scanning: 7 blocks",
        "scanning: 27 blocks, 10 blocks/s");
  }

  // A migration's total grows while it runs (foreground creations extend the part of the table it copies): 800 of
  // 1,000 became 816 of 2,500, and the percent shown fell from 80 to 32.
  @Test
  void linesMode_percentNeverFallsWhenTheTotalGrows_theCountsStayExact() {
    try (ProgressReporter r = ProgressReporter.create(ProgressMode.LINES, err, false, clock::get)) {
      r.update("migrating inodes", 800, 1000, "inodes");
      clock.addAndGet(1_500 * MS);
      r.update("migrating inodes", 816, 2500, "inodes");
      clock.addAndGet(30_000 * MS);
      r.update("migrating inodes", 2000, 2500, "inodes");
      clock.addAndGet(1_500 * MS);
      r.update("migrating inodes", 2100, 2500, "inodes");
    }
    assertThat(bytes.toString(StandardCharsets.UTF_8).lines().map(l -> l.substring(0, l.indexOf(')') + 1)))
        .containsExactly("migrating inodes: 80% (800 of 1,000 inodes)",
            "migrating inodes: 80% (2,000 of 2,500 inodes)",
            "migrating inodes: 84% (2,100 of 2,500 inodes)");
  }

  @Test
  void barPercentNeverFallsWhenTheTotalGrows() throws Exception {
    try (ProgressReporter r = ProgressReporter.create(ProgressMode.BAR, err, false, clock::get)) {
      r.update("migrating", 0, 1000, "inodes");
      clock.addAndGet(ProgressReporter.BAR_DELAY_NANOS + MS);
      r.update("migrating", 800, 1000, "inodes");
      // The bar library draws on its own clock, about once a second.
      Thread.sleep(1_200);
      r.update("migrating", 816, 2500, "inodes");
      Thread.sleep(1_200);
    }
    String drawn = bytes.toString(StandardCharsets.UTF_8);
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("([0-9]+)%").matcher(drawn);
    List<Integer> percents = new ArrayList<>();
    while (m.find()) {
      percents.add(Integer.parseInt(m.group(1)));
    }
    assertThat(percents).as("percents drawn in: %s", drawn).contains(80).isSorted();
  }

  // 'vde put' of a host file that grows while it is read (a log being appended to) counts past the size it was
  // given: each report past it was taken as the phase finishing again and wrote a line, one per buffer read.
  @Test
  void linesMode_workGoingPastItsTotal_writesNoMoreThanOneLineASecond() {
    try (ProgressReporter r = ProgressReporter.create(ProgressMode.LINES, err, false, clock::get)) {
      r.update("writing", 0, 1L << 20, "bytes");
      for (int i = 1; i <= 200; i++) {
        clock.addAndGet(MS);
        r.update("writing", i * (64L << 10), 1L << 20, "bytes");
      }
    }
    assertThat(bytes.toString(StandardCharsets.UTF_8).lines().toList()).containsExactly(
        "writing: 0% (0.0 of 1.0 MiB), ETA unknown",
        "writing: 100% (1.0 of 1.0 MiB), 62.5 MiB/s, ETA 0 s",
        "writing: 100% (12.5 of 1.0 MiB), 62.5 MiB/s, ETA 0 s");
  }

  // The last state was written only when its done count differed from the last line's: a total that grew since
  // (a migration cancelled just after the foreground extended it) was left out, and the log ended on the old one.
  @Test
  void linesMode_theLastStateIsWrittenWhenOnlyItsTotalChanged() {
    try (ProgressReporter r = ProgressReporter.create(ProgressMode.LINES, err, false, clock::get)) {
      r.update("migrating inodes", 800, 1000, "inodes");
      clock.addAndGet(500 * MS);
      r.update("migrating inodes", 800, 2500, "inodes");
    }
    assertThat(bytes.toString(StandardCharsets.UTF_8).lines().map(l -> l.substring(0, l.indexOf(')') + 1)))
        .containsExactly("migrating inodes: 80% (800 of 1,000 inodes)", "migrating inodes: 80% (800 of 2,500 inodes)");
  }

  @Test
  void durationsReadAsSecondsMinutesOrHours() {
    assertThat(ProgressReporter.duration(0.2)).isEqualTo("1 s");
    assertThat(ProgressReporter.duration(59)).isEqualTo("59 s");
    assertThat(ProgressReporter.duration(65)).isEqualTo("1 min 5 s");
    assertThat(ProgressReporter.duration(7_620)).isEqualTo("2 h 7 min");
  }

  @Test
  void theLinesOptionOfACommand_writesPlainLinesOnStderr(@TempDir Path tmp) throws IOException {
    Path image = tmp.resolve("lines.vde");
    Cli.run("create", image, "--size", "8M").ok();
    Path host = Files.write(tmp.resolve("data.bin"), new byte[3 << 20]);
    List<String> lines = Cli.run("put", image, host, "/data.bin", "--progress", "lines").ok().stderrLines();
    assertThat(lines).as("the first state and the last").hasSizeGreaterThanOrEqualTo(2);
    assertThat(lines.get(0)).isEqualTo("writing: 0% (0.0 of 3.0 MiB), ETA unknown");
    assertThat(lines.get(lines.size() - 1)).matches("writing: 100% \\(3\\.0 of 3\\.0 MiB\\), "
        + "[0-9.]+ MiB/s, ETA 0 s");
    assertThat(String.join("", lines)).doesNotContain("\r");
  }
}
