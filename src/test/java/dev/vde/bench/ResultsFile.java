package dev.vde.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Assembles {@code OUT/results.md}: the machine description and command written by run.sh, a summary of every
 * target (met or missed, with the numbers), then each scenario's section in order.
 */
public final class ResultsFile {
  private ResultsFile() {}

  public static void main(String[] argv) throws IOException {
    BenchArgs a = BenchArgs.parse(argv, 1, 1);
    Path out = a.out;
    StringBuilder b = new StringBuilder();
    b.append("# vde benchmark results\n\n");
    Path machine = out.resolve("machine.md");
    if (Files.exists(machine)) {
      b.append(Files.readString(machine)).append('\n');
    }
    List<Path> sections;
    try (Stream<Path> s = Files.list(out)) {
      sections = s.filter(p -> p.getFileName().toString().matches("\\d\\d-.*\\.md")).sorted().toList();
    }
    Table targets = new Table("area", "target", "measured", "status", "note").leftAligned();
    for (Path md : sections) {
      Path t = md.resolveSibling(md.getFileName().toString().replaceAll("\\.md$", ".targets"));
      if (!Files.exists(t)) {
        continue;
      }
      for (String line : Files.readAllLines(t)) {
        if (line.isBlank()) {
          continue;
        }
        String[] f = line.split("\t", -1);
        targets.row(f[0], f[1], f[2], f[3], f.length > 4 ? f[4] : "");
      }
    }
    b.append("## Targets\n\n").append(targets.isEmpty() ? "(none measured)\n" : targets.markdown()).append('\n');
    for (Path md : sections) {
      b.append(Files.readString(md)).append('\n');
    }
    Files.writeString(out.resolve("results.md"), b.toString());
  }
}
