package dev.vde.bench;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/** Host-side helpers: peer tools as processes, the page cache, fsync, allocation, test data. */
final class Tools {
  private Tools() {}

  /** The executable {@code name} on PATH or in the sbin directories, or null when it is missing. */
  static Path which(String name) {
    List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
    dirs.addAll(List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin"));
    for (String d : dirs) {
      if (d.isEmpty()) {
        continue;
      }
      Path p = Path.of(d, name);
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }

  /**
   * The command that runs the vde tool as a user would: the {@code vde} launcher given with {@code --vde} (its
   * build and class-data-sharing archive prepared by an untimed first call), else a fresh JVM on this class path.
   */
  static List<String> vdeCommand(BenchArgs a) {
    String launcher = a.get("vde", "");
    if (!launcher.isEmpty()) {
      return List.of(launcher);
    }
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    return List.of(javaBin, "-cp", System.getProperty("java.class.path"), "dev.vde.cli.Main");
  }

  /** How {@link #vdeCommand} runs the tool, for the report. */
  static String describeVdeCommand(BenchArgs a) {
    return a.get("vde", "").isEmpty() ? "a fresh JVM on the test class path (`java -cp ... dev.vde.cli.Main`)"
        : "the `vde` launcher at the repository root (`java -jar target/vde-cli.jar` with its class-data-sharing "
            + "archive)";
  }

  static List<String> concat(List<String> a, String... more) {
    List<String> out = new ArrayList<>(a);
    out.addAll(List.of(more));
    return out;
  }

  /** Runs a command to completion and returns its wall time in seconds; a non-zero exit is an error. */
  static double time(List<String> cmd) throws IOException {
    return run(cmd).seconds;
  }

  record Result(double seconds, String output) {}

  /** Runs a command (stdout and stderr merged) and returns its wall time and output. */
  static Result run(List<String> cmd) throws IOException {
    Path log = Files.createTempFile("bench-proc", ".log");
    try {
      // No input: a tool that stops to ask a question gets end-of-file and fails, instead of waiting unseen
      // (with its wait timed) on a pipe nobody writes to.
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      long t0 = System.nanoTime();
      Process p = pb.start();
      int rc;
      try {
        rc = p.waitFor();
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while running " + cmd);
      }
      double secs = (System.nanoTime() - t0) / 1e9;
      String output = Files.readString(log, StandardCharsets.UTF_8);
      if (rc != 0) {
        throw new IOException(String.join(" ", cmd) + " exited with " + rc + ": " + tail(output));
      }
      return new Result(secs, output);
    } finally {
      Files.deleteIfExists(log);
    }
  }

  private static String tail(String s) {
    String t = s.strip();
    return t.length() > 600 ? "..." + t.substring(t.length() - 600) : t;
  }

  static boolean canDropCaches() {
    return Files.isWritable(Path.of("/proc/sys/vm/drop_caches"));
  }

  /** Writes back dirty pages, then drops the page cache if allowed; returns whether it was dropped. */
  static boolean dropCaches() throws IOException {
    time(List.of("sync"));
    if (!canDropCaches()) {
      return false;
    }
    Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3\n");
    return true;
  }

  /** fsync of one host file (contents and metadata); returns its duration in seconds. */
  static double fsync(Path p) throws IOException {
    long t0 = System.nanoTime();
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
    return (System.nanoTime() - t0) / 1e9;
  }

  /** Bytes the host file system has allocated to {@code p} ({@code stat -c '%b %B'}). */
  static long allocatedBytes(Path p) throws IOException {
    String[] f = run(List.of("stat", "-c", "%b %B", p.toString())).output.strip().split("\\s+");
    return Long.parseLong(f[0]) * Long.parseLong(f[1]);
  }

  /** Copies a host file keeping its holes ({@code cp --sparse=always}). */
  static void copySparse(Path from, Path to) throws IOException {
    Files.deleteIfExists(to);
    time(List.of("cp", "--sparse=always", from.toString(), to.toString()));
  }

  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** Deterministic incompressible-looking bytes. */
  static byte[] randomBytes(long seed, int n) {
    byte[] b = new byte[n];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < n; i += 8) {
      long v = r.nextLong();
      for (int k = 0; k < 8 && i + k < n; k++) {
        b[i + k] = (byte) (v >>> (8 * k));
      }
    }
    return b;
  }

  /** Writes {@code bytes} of a repeated pattern to a new plain file, then fsyncs it; returns seconds. */
  static double writePlain(Path p, long bytes, byte[] pattern) throws IOException {
    long t0 = System.nanoTime();
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
        StandardOpenOption.WRITE)) {
      long done = 0;
      while (done < bytes) {
        int n = (int) Math.min(pattern.length, bytes - done);
        ByteBuffer b = ByteBuffer.wrap(pattern, 0, n);
        while (b.hasRemaining()) {
          ch.write(b);
        }
        done += n;
      }
      ch.force(false);
    }
    return (System.nanoTime() - t0) / 1e9;
  }

  static String gib(long bytes) {
    return Stats.num(bytes / (double) (1L << 30)) + " GiB";
  }

  static String mib(long bytes) {
    return Stats.num(bytes / (double) (1L << 20)) + " MiB";
  }
}
