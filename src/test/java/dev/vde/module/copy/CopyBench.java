package dev.vde.module.copy;

import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.SeededBytes;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Locale;

/**
 * Benchmark (a main, not a test): a 4 GiB volume whose host file is dense but holds only 10% live data, copied
 * with the extent-aware copy, with {@code cp --sparse=never} of the whole image, and with {@code cp} of a plain
 * file as big as the live data. Every contender ends with the copy durable (vde syncs itself; the cp runs are
 * followed by {@code sync FILE}) and starts after a global {@code sync}, so no run pays for another's write-back.
 * The copy is timed in process (after one untimed run, as in a long-lived application) and as the CLI in a new
 * JVM (start-up included). Prints the median of three runs of each, and the ratios.
 *
 * <p>Run: {@code mvn -q test-compile && java -cp target/classes:target/test-classes:$(cat cp.txt)
 * dev.vde.module.copy.CopyBench [work-dir]} (cp.txt from {@code mvn dependency:build-classpath}). Needs about
 * 10 GiB free in the work directory (default: a new directory under the system temp directory).
 */
public final class CopyBench {
  private static final long VOLUME = 4L << 30;
  private static final int FILE_BYTES = 8 << 20;
  private static final int KEEP_ONE_IN = 10;
  private static final int RUNS = 3;

  private CopyBench() {}

  public static void main(String[] args) throws Exception {
    Path dir = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("vde-copy-bench");
    Files.createDirectories(dir);
    Path image = dir.resolve("bench.vde");
    Path plain = dir.resolve("live-data.bin");
    Files.deleteIfExists(image);
    long live = build(image);
    writePlain(plain, live);
    System.out.printf(Locale.ROOT, "image %s: %,d bytes, %,d bytes allocated on disk; live data %,d bytes%n", image,
        Files.size(image), CopyFixtures.allocatedBytes(image), live);

    // Untimed: lets the JIT compile the copy's loops, as a long-running embedding application would have.
    Path out = dir.resolve("copy.vde");
    ExtentAwareCopy.copy(image, out, CopyOptions.defaults());
    Files.delete(out);
    Path plainOut = dir.resolve("live-data.copy");
    double[] vde = new double[RUNS];
    double[] cli = new double[RUNS];
    double[] cpImage = new double[RUNS];
    double[] cpPlain = new double[RUNS];
    CopyResult last = null;
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String classpath = System.getProperty("java.class.path");
    for (int i = 0; i < RUNS; i++) {
      // Every run starts with no dirty pages, so none pays for another's write-back.
      shell("sync");
      long t0 = System.nanoTime();
      last = ExtentAwareCopy.copy(image, out, CopyOptions.defaults());
      vde[i] = (System.nanoTime() - t0) / 1e9;
      Files.delete(out);
      shell("sync");
      cli[i] = timeShell("'" + java + "' -cp '" + classpath + "' dev.vde.cli.Main copy --progress=none '" + image
          + "' '" + out + "' > /dev/null");
      Files.delete(out);
      shell("sync");
      cpImage[i] = timeShell("cp --sparse=never '" + image + "' '" + out + "' && sync '" + out + "'");
      Files.delete(out);
      shell("sync");
      cpPlain[i] = timeShell("cp '" + plain + "' '" + plainOut + "' && sync '" + plainOut + "'");
      Files.delete(plainOut);
    }
    double v = median(vde);
    double c = median(cli);
    double ci = median(cpImage);
    double cp = median(cpPlain);
    System.out.printf(Locale.ROOT, "vde copy (in process):  median %.3f s  (%s), %.0f MiB/s of live data%n", v,
        runs(vde), live / v / (1 << 20));
    System.out.printf(Locale.ROOT, "vde copy (CLI, new JVM): median %.3f s  (%s)%n", c, runs(cli));
    System.out.printf(Locale.ROOT, "cp --sparse=never image: median %.3f s  (%s)%n", ci, runs(cpImage));
    System.out.printf(Locale.ROOT, "cp of a live-size file:  median %.3f s  (%s)%n", cp, runs(cpPlain));
    System.out.printf(Locale.ROOT, "cp --sparse=never / vde copy: %.1fx in process, %.1fx CLI; vde copy / cp of the"
        + " live data: %.2fx in process, %.2fx CLI%n", ci / v, ci / c, v / cp, c / cp);
    System.out.printf(Locale.ROOT, "blocks copied %,d of %,d (speed-up over naive %.1fx), writers paused %d ms%n",
        last.blocksCopied(), last.totalBlocks(), last.speedupOverNaive(), last.pauseMillis());
    Files.delete(image);
    Files.delete(plain);
  }

  /** Fills the volume with 8 MiB files (every block written once), then deletes all but one in ten. */
  private static long build(Path image) throws IOException {
    long t0 = System.nanoTime();
    try (VirtualDisk d = VirtualDisk.create(image, CreateOptions.ofSize(VOLUME))) {
      byte[] content = SeededBytes.bytes(42, FILE_BYTES);
      int files = 0;
      while (d.info().freeBlocks() * d.info().blockSize() > FILE_BYTES + (16L << 20)) {
        content[0] = (byte) files;
        d.writeFile("/f" + files, content);
        files++;
      }
      int made = files;
      d.batch(disk -> {
        for (int i = 0; i < made; i++) {
          if (i % KEEP_ONE_IN != 0) {
            disk.delete("/f" + i);
          }
        }
      });
      long live = (long) ((made + KEEP_ONE_IN - 1) / KEEP_ONE_IN) * FILE_BYTES;
      System.out.printf(Locale.ROOT, "built: %d files of 8 MiB written, %d kept, in %.1f s%n", made,
          (made + KEEP_ONE_IN - 1) / KEEP_ONE_IN, (System.nanoTime() - t0) / 1e9);
      return live;
    }
  }

  private static void writePlain(Path plain, long bytes) throws IOException {
    byte[] chunk = SeededBytes.bytes(7, 1 << 20);
    try (OutputStream out = Files.newOutputStream(plain, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      for (long done = 0; done < bytes; done += chunk.length) {
        out.write(chunk, 0, (int) Math.min(chunk.length, bytes - done));
      }
    }
  }

  private static void shell(String command) throws IOException, InterruptedException {
    timeShell(command);
  }

  private static double timeShell(String command) throws IOException, InterruptedException {
    long t0 = System.nanoTime();
    Process p = new ProcessBuilder("sh", "-c", command).inheritIO().start();
    if (p.waitFor() != 0) {
      throw new IOException("failed: " + command);
    }
    return (System.nanoTime() - t0) / 1e9;
  }

  private static double median(double[] xs) {
    double[] s = xs.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }

  private static String runs(double[] xs) {
    StringBuilder sb = new StringBuilder();
    for (double x : xs) {
      sb.append(sb.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.3f", x));
    }
    return sb.toString();
  }
}
