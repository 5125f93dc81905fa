package dev.vde.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/** Command line of a scenario main: {@code --work DIR --out DIR [--quick] [--reps N] [--key value...]}. */
final class BenchArgs {
  final Path work;
  final Path out;
  final boolean quick;
  final int reps;
  private final Map<String, String> extra = new HashMap<>();

  private BenchArgs(Path work, Path out, boolean quick, int reps, Map<String, String> extra) {
    this.work = work;
    this.out = out;
    this.quick = quick;
    this.reps = reps;
    this.extra.putAll(extra);
  }

  static BenchArgs parse(String[] args, int fullReps, int quickReps) throws IOException {
    Path work = Path.of("bench/work");
    Path out = Path.of("bench/out");
    boolean quick = false;
    Integer reps = null;
    Map<String, String> extra = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--work" -> work = Path.of(args[++i]);
        case "--out" -> out = Path.of(args[++i]);
        case "--quick" -> quick = true;
        case "--reps" -> reps = Integer.parseInt(args[++i]);
        default -> {
          if (args[i].startsWith("--") && i + 1 < args.length) {
            extra.put(args[i].substring(2), args[++i]);
          } else {
            throw new IllegalArgumentException("unknown argument " + args[i]);
          }
        }
      }
    }
    Files.createDirectories(work);
    Files.createDirectories(out);
    return new BenchArgs(work.toAbsolutePath(), out.toAbsolutePath(), quick,
        reps != null ? reps : quick ? quickReps : fullReps, extra);
  }

  String get(String key, String def) {
    return extra.getOrDefault(key, def);
  }
}
