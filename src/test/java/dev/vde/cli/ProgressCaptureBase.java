package dev.vde.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** Base of progress reporter tests: what the reporter writes to its error stream, and the clock it reads (ns). */
abstract class ProgressCaptureBase {
  static final long MS = 1_000_000L;

  final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  final PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);
  final AtomicLong clock = new AtomicLong(1_000 * MS);

  /** Every line written so far, parsed as JSON. */
  List<JsonNode> lines() throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (String line : bytes.toString(StandardCharsets.UTF_8).lines().toList()) {
      out.add(Cli.parse(line));
    }
    return out;
  }
}
