package dev.vde.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The results of one scenario: markdown sections, written to {@code OUT/NN-name.md}, and its targets (met or
 * missed, with the numbers), written to {@code OUT/NN-name.targets} as tab-separated lines for the summary.
 */
final class Report {
  private final Path out;
  private final String file;
  private final StringBuilder md = new StringBuilder();
  private final List<String> targets = new ArrayList<>();

  Report(Path outDir, String file, String title) {
    this.out = outDir;
    this.file = file;
    md.append("## ").append(title).append("\n\n");
  }

  Report heading(String h) {
    md.append("### ").append(h).append("\n\n");
    return this;
  }

  Report text(String t) {
    md.append(t).append("\n\n");
    return this;
  }

  Report table(Table t) {
    md.append(t.markdown()).append('\n');
    return this;
  }

  /** A target: what was asked, what was measured, and whether it was met. */
  Report target(String area, String goal, String measured, boolean met, String note) {
    targets.add(String.join("\t", area, goal, measured, met ? "met" : "missed", note == null ? "" : note));
    return this;
  }

  /** A target with a status other than plain met or missed (for example met only at a smaller size). */
  Report target(String area, String goal, String measured, String status, String note) {
    targets.add(String.join("\t", area, goal, measured, status, note == null ? "" : note));
    return this;
  }

  /** A target that could not be measured in this run. */
  Report notMeasured(String area, String goal, String why) {
    targets.add(String.join("\t", area, goal, "not measured", "not run", why));
    return this;
  }

  /** Writes what has been collected so far (called again after each part, so a crash keeps the earlier parts). */
  void flush() throws IOException {
    Files.createDirectories(out);
    Files.writeString(out.resolve(file + ".md"), md.toString(), StandardCharsets.UTF_8);
    Files.writeString(out.resolve(file + ".targets"), targets.isEmpty() ? "" : String.join("\n", targets) + "\n",
        StandardCharsets.UTF_8);
  }
}
