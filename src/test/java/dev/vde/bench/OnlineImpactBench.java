package dev.vde.bench;

import dev.vde.format.Module;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationResult;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Scenario 3: the foreground's view of a migration. One or two threads issue 4 KiB random reads or 4 KiB random
 * positional writes on an existing file, continuously; after a quiet lead-in a migration (adding Tags) runs
 * unthrottled, or throttled to an IOPS limit for a fixed window and then cancelled, or nothing runs (idle).
 * Every operation's start time and latency is recorded; throughput and percentiles cover the migration window.
 */
public final class OnlineImpactBench {
  enum Workload {
    READ_1("reads, 1 thread", 1, false),
    READ_2("reads, 2 threads", 2, false),
    WRITE_1("writes, 1 thread", 1, true),
    WRITE_2("writes, 2 threads", 2, true);

    final String label;
    final int threads;
    final boolean write;

    Workload(String label, int threads, boolean write) {
      this.label = label;
      this.threads = threads;
      this.write = write;
    }
  }

  /** What runs beside the foreground: nothing, or a migration with an IOPS limit (0 = unthrottled). */
  record Condition(String label, boolean migrate, long iops, boolean yield) {}

  /**
   * The operations of one run, the window they are judged in, and when the foreground stopped (seconds since the
   * foreground started).
   */
  record Run(long[] start, long[] latency, double windowStart, double windowEnd, double foregroundEnd,
      long inodesCopied, boolean completed) {
    double throughput() {
      return between(windowStart, windowEnd).length / (windowEnd - windowStart);
    }

    long[] inWindow() {
      return between(windowStart, windowEnd);
    }

    /** Operations per second among those that started in {@code [from, to)}. */
    double throughputBetween(double from, double to) {
      return between(from, to).length / (to - from);
    }

    /** Sorted latencies of the operations that started in {@code [from, to)} (seconds). */
    long[] between(double from, double to) {
      long a = (long) (from * 1e9);
      long b = (long) (to * 1e9);
      long[] out = new long[start.length];
      int n = 0;
      for (int i = 0; i < start.length; i++) {
        if (start[i] >= a && start[i] < b) {
          out[n++] = latency[i];
        }
      }
      long[] r = Arrays.copyOf(out, n);
      Arrays.sort(r);
      return r;
    }
  }

  private OnlineImpactBench() {}

  public static void main(String[] argv) throws Exception {
    BenchArgs a = BenchArgs.parse(argv, 2, 1);
    Path images = Path.of(a.get("images", a.work.resolve("images").toString()));
    Path charts = Path.of(a.get("charts", a.out.toString()));
    long n = a.quick ? 100_000 : 1_000_000;
    long fgBytes = a.quick ? 64L << 20 : 256L << 20;
    double lead = a.quick ? 0.3 : 0.75;
    double window = a.quick ? 1.5 : 3.0;
    List<Workload> workloads = a.quick ? List.of(Workload.READ_1, Workload.WRITE_1) : List.of(Workload.values());
    // Index 1 is the default migration (unthrottled, yielding to the foreground): the target is judged on it.
    List<Condition> conditions = List.of(new Condition("idle (no migration)", false, 0, true),
        new Condition("migration, unthrottled (default: yields to foreground)", true, 0, true),
        new Condition("migration, unthrottled, not yielding", true, 0, false),
        new Condition("migration, max 10,000 IOPS", true, 10_000, true),
        new Condition("migration, max 2,000 IOPS", true, 2_000, true));
    Report r = new Report(a.out, "30-online", "3. Online impact: foreground I/O during a migration");

    MigrationImages.Base base = MigrationImages.base(images, n);
    Path online = images.resolve("online-" + n + ".vde");
    if (!Files.exists(online)) {
      Tools.copySparse(base.image(), online);
      try (VirtualDisk d = VirtualDisk.open(online)) {
        d.writeFile("/fg.bin", new EngineBench.PatternStream(Tools.randomBytes(3, 1 << 20), fgBytes));
      }
    }
    Path csvDir = a.out.resolve("latency");
    Files.createDirectories(csvDir);

    // results[workload][condition] over repetitions
    Stats[][] tput = new Stats[Workload.values().length][conditions.size()];
    Stats[][] idleSame = new Stats[Workload.values().length][conditions.size()];
    Stats[][] p50 = new Stats[Workload.values().length][conditions.size()];
    Stats[][] p99 = new Stats[Workload.values().length][conditions.size()];
    Stats[][] maxLat = new Stats[Workload.values().length][conditions.size()];
    Stats[][] migSecs = new Stats[Workload.values().length][conditions.size()];
    Stats[][] migRate = new Stats[Workload.values().length][conditions.size()];
    for (Stats[][] s : List.of(tput, idleSame, p50, p99, maxLat, migSecs, migRate)) {
      for (Stats[] row : s) {
        for (int c = 0; c < row.length; c++) {
          row[c] = new Stats();
        }
      }
    }
    // The longest migration window seen so far per workload, to size an idle run that goes first.
    double[] longestWindow = new double[Workload.values().length];
    int clipped = 0;
    List<LatencyChart.Panel> chartPanels = new ArrayList<>();
    for (int rep = 0; rep < a.reps; rep++) {
      for (Workload w : workloads) {
        // The idle run is the baseline of every migration row, compared over the same stretch of the foreground's
        // life. It must last as long as the longest migration window: it goes last in even repetitions (sized
        // from this repetition's windows) and first in odd ones (sized from the earlier ones, with a margin).
        boolean idleFirst = rep % 2 == 1 && longestWindow[w.ordinal()] > 0;
        Run[] runs = new Run[conditions.size()];
        if (idleFirst) {
          runs[0] = runOne(online, a.work.resolve("online.vde"), w, conditions.get(0), fgBytes, lead,
              Math.max(window, 1.5 * longestWindow[w.ordinal()]));
        }
        double longest = 0;
        for (int c = 1; c < conditions.size(); c++) {
          runs[c] = runOne(online, a.work.resolve("online.vde"), w, conditions.get(c), fgBytes, lead, window);
          longest = Math.max(longest, runs[c].windowEnd() - runs[c].windowStart());
        }
        longestWindow[w.ordinal()] = Math.max(longestWindow[w.ordinal()], longest);
        if (!idleFirst) {
          runs[0] = runOne(online, a.work.resolve("online.vde"), w, conditions.get(0), fgBytes, lead,
              Math.max(window, longest));
        }
        for (int c = 0; c < conditions.size(); c++) {
          Condition cond = conditions.get(c);
          Run run = runs[c];
          long[] lat = run.inWindow();
          tput[w.ordinal()][c].add(run.throughput());
          if (c > 0) {
            // The idle run's foreground over the same interval since its start; it ran on past its own window
            // for the trailing quiet part, which is idle too. Only an idle run that went first and was still
            // too short is cut to the part it covers.
            double to = Math.min(run.windowEnd(), runs[0].foregroundEnd());
            if (to < run.windowEnd()) {
              clipped++;
            }
            idleSame[w.ordinal()][c].add(runs[0].throughputBetween(run.windowStart(), to));
          }
          p50[w.ordinal()][c].add(Stats.at(lat, 0.5) / 1e3);
          p99[w.ordinal()][c].add(Stats.at(lat, 0.99) / 1e3);
          maxLat[w.ordinal()][c].add(lat.length == 0 ? Double.NaN : lat[lat.length - 1] / 1e3);
          migSecs[w.ordinal()][c].add(run.windowEnd() - run.windowStart());
          if (cond.migrate()) {
            migRate[w.ordinal()][c].add(run.inodesCopied() / (run.windowEnd() - run.windowStart()));
          }
          if (rep == 0) {
            writeCsv(csvDir.resolve(String.format("%s-%s.csv", w.name().toLowerCase(), slug(cond.label()))), run);
            if (c == 1 && (w == Workload.READ_1 || w == Workload.WRITE_1)) {
              chartPanels.add(new LatencyChart.Panel("4 KiB random " + w.label, run.start(), run.latency(),
                  run.windowStart(), run.windowEnd(), String.format("migration of %,d inodes, unthrottled (%.1f s)",
                      run.inodesCopied(), run.windowEnd() - run.windowStart())));
            }
          }
        }
      }
    }

    r.text(String.format("The volume holds %,d inodes in use (as in scenario 1) plus a %s file that the foreground "
        + "reads or overwrites at random 4096-byte-aligned offsets (`VirtualDisk.read` / `VirtualDisk.write`; a "
        + "write is durable when it returns, and since blocks hold 4080 bytes of payload each 4 KiB write rewrites "
        + "two blocks). Each run: %s s of foreground alone, then the migration (unthrottled: until it completes; "
        + "throttled: %s s, then `MigrationControl.cancel()`; idle: nothing, for at least %s s and at least as "
        + "long as the longest migration window of the same workload), then %s s alone again. "
        + "Throughput and latency percentiles count the operations that started inside the migration window "
        + "(the idle row: its own window); p50, p99 and max are medians over the repetitions of each run's "
        + "figure. \"vs idle\" is the median ops/s of the row over the median ops/s of the idle runs counted over "
        + "the same interval since the foreground started (the column before it), so that both cover the same "
        + "stretch of the foreground file's life (random writes fragment it, and a more fragmented file is "
        + "slower). The idle run goes after the migration runs in the first repetition and before them in the "
        + "second, alternating, sized from the windows seen before it with half again as margin%s. The "
        + "migration uses `MigrationOptions.defaults()` (checkpoint every "
        + String.format(Locale.ROOT, "%,d", MigrationOptions.DEFAULT_CHECKPOINT_EVERY) + " inodes and at least "
        + "once a second, yielding to the "
        + "foreground unless the row says otherwise) with `MigrationControl.setMaxIops`. Repetitions: %d; every operation of the first "
        + "repetition is in `bench/out/latency/*.csv` (start ms, latency µs; the first line gives the migration window).", base.inodesUsed(),
        Tools.mib(fgBytes), Stats.num(lead), Stats.num(window), Stats.num(window), Stats.num(lead),
        clipped == 0 ? "" : String.format(Locale.ROOT, " (%d migration window%s outlasted an idle run that went "
            + "first; %s compared with the part the idle run covered)", clipped, clipped == 1 ? "" : "s",
            clipped == 1 ? "it is" : "they are"), a.reps));
    for (Workload w : workloads) {
      r.heading("4 KiB random " + w.label);
      Table t = new Table("condition", "ops/s: median (min–max)", "idle ops/s, same interval", "vs idle",
          "p50 µs", "p99 µs", "max µs", "migration window", "inodes/s migrated");
      for (int c = 0; c < conditions.size(); c++) {
        int i = w.ordinal();
        t.row(conditions.get(c).label(), tput[i][c].scaled(1, ""), c == 0 ? "" : idleSame[i][c].scaled(1, ""),
            c == 0 ? "1x" : Stats.ratio(vsIdle(tput[i][c], idleSame[i][c])),
            Stats.num(p50[i][c].median()), Stats.num(p99[i][c].median()), Stats.num(maxLat[i][c].median()),
            migSecs[i][c].seconds(), conditions.get(c).migrate() ? Stats.num(migRate[i][c].median()) : "");
      }
      r.table(t);
    }
    if (!chartPanels.isEmpty()) {
      Path png = charts.resolve("migration-latency.png");
      LatencyChart.render(png, String.format("Foreground latency during an unthrottled migration (%,d inodes, "
          + "adding Tags), 100 ms bins", n), chartPanels, 0.1);
      r.text("![Foreground latency over time during a migration](migration-latency.png)");
    }
    // A ratio that cannot be computed (no operation in a window) fails the target rather than being skipped.
    double worst = Double.POSITIVE_INFINITY;
    String worstName = "";
    for (Workload w : workloads) {
      double v = vsIdle(tput[w.ordinal()][1], idleSame[w.ordinal()][1]);
      if (Double.isNaN(v) || v < worst) {
        worst = v;
        worstName = w.label;
        if (Double.isNaN(v)) {
          break;
        }
      }
    }
    StringBuilder all = new StringBuilder();
    for (Workload w : workloads) {
      double v = vsIdle(tput[w.ordinal()][1], idleSame[w.ordinal()][1]);
      all.append(all.length() == 0 ? "" : ", ").append(w.name().toLowerCase().replace('_', '×'))
          .append(' ').append(Double.isFinite(v) ? Math.round(100 * v) + "%" : "n/a");
    }
    // The verdict is on the default migration, which has no IOPS limit but yields to the foreground; the row
    // that does not yield is named beside it, so that the table shows what the verdict rests on.
    StringBuilder noYield = new StringBuilder();
    for (Workload w : workloads) {
      double v = vsIdle(tput[w.ordinal()][2], idleSame[w.ordinal()][2]);
      noYield.append(noYield.length() == 0 ? "" : ", ").append(w.name().toLowerCase().replace('_', '×'))
          .append(' ').append(Double.isFinite(v) ? Math.round(100 * v) + "%" : "n/a");
    }
    r.target("migration", "foreground keeps ≥ 50% of idle throughput during an unthrottled migration",
        String.format("worst %s (4 KiB random %s); %s", Double.isFinite(worst) ? Math.round(100 * worst) + "%"
            : "n/a", worstName, all), worst >= 0.5 && Double.isFinite(worst),
        String.format("%,d-inode migration with the default options (no IOPS limit, yielding to the foreground); "
            + "not yielding: %s; idle counted over the same interval of the foreground's run", n, noYield));
    r.flush();
  }

  /** Median ops/s of a condition over the median ops/s of the idle runs over the same intervals. */
  private static double vsIdle(Stats condition, Stats idle) {
    double i = idle.median();
    return i > 0 ? condition.median() / i : Double.NaN;
  }

  private static String slug(String s) {
    return s.toLowerCase().replaceAll("[^a-z0-9]+", "-").replaceAll("(^-|-$)", "");
  }

  private static void writeCsv(Path p, Run run) throws IOException {
    try (BufferedWriter w = Files.newBufferedWriter(p)) {
      w.write(String.format("# migration window %.3f..%.3f s%n", run.windowStart(), run.windowEnd()));
      w.write("start_ms,latency_us\n");
      for (int i = 0; i < run.start().length; i++) {
        w.write(String.format("%.3f,%.1f%n", run.start()[i] / 1e6, run.latency()[i] / 1e3));
      }
    }
  }

  /** Growable list of longs. */
  static final class Longs {
    long[] a = new long[1 << 16];
    int n;

    void add(long v) {
      if (n == a.length) {
        a = Arrays.copyOf(a, a.length * 2);
      }
      a[n++] = v;
    }

    long[] toArray() {
      return Arrays.copyOf(a, n);
    }
  }

  static Run runOne(Path base, Path img, Workload w, Condition cond, long fgBytes, double lead, double window)
      throws Exception {
    Tools.copySparse(base, img);
    // The copy's dirty pages would otherwise be flushed by the first foreground fsync.
    Tools.fsync(img);
    try (VirtualDisk d = VirtualDisk.open(img)) {
      // Warm the foreground file so that idle and migration runs start alike.
      d.readFile("/fg.bin", new EngineBench.CountingSink());
      long t0 = System.nanoTime();
      AtomicBoolean stop = new AtomicBoolean();
      Longs[] starts = new Longs[w.threads];
      Longs[] lats = new Longs[w.threads];
      AtomicReference<Throwable> failure = new AtomicReference<>();
      List<Thread> threads = new ArrayList<>();
      for (int k = 0; k < w.threads; k++) {
        Longs s = starts[k] = new Longs();
        Longs l = lats[k] = new Longs();
        long seed = 31L * k + w.ordinal();
        Thread th = new Thread(() -> {
          SplittableRandom rnd = new SplittableRandom(seed);
          byte[] buf = new byte[4096];
          byte[] data = Tools.randomBytes(seed, 4096);
          long slots = fgBytes / 4096;
          try {
            while (!stop.get()) {
              long pos = rnd.nextLong(slots) * 4096;
              long a0 = System.nanoTime();
              if (w.write) {
                d.write("/fg.bin", pos, data, 0, 4096);
              } else {
                d.read("/fg.bin", pos, buf, 0, 4096);
              }
              long a1 = System.nanoTime();
              s.add(a0 - t0);
              l.add(a1 - a0);
            }
          } catch (Throwable e) {
            failure.set(e);
          }
        }, "fg-" + k);
        threads.add(th);
        th.start();
      }
      sleep(lead);
      double ws = (System.nanoTime() - t0) / 1e9;
      long copied = 0;
      boolean completed = false;
      if (!cond.migrate()) {
        sleep(window);
      } else {
        MigrationControl ctl = new MigrationControl(cond.iops(), cond.yield());
        AtomicReference<Object> result = new AtomicReference<>();
        Thread mig = new Thread(() -> {
          try {
            result.set(InodeMigration.start(d, List.of(Module.TAGS), MigrationOptions.defaults().control(ctl)));
          } catch (Throwable e) {
            result.set(e);
          }
        }, "migration");
        mig.start();
        if (cond.iops() > 0) {
          mig.join((long) (window * 1000));
          ctl.cancel();
        }
        mig.join();
        if (result.get() instanceof Throwable e) {
          throw new IOException("migration failed", e);
        }
        MigrationResult res = (MigrationResult) result.get();
        copied = res.inodesCopied();
        completed = !res.cancelled();
      }
      double we = (System.nanoTime() - t0) / 1e9;
      sleep(lead);
      double fe = (System.nanoTime() - t0) / 1e9;
      stop.set(true);
      for (Thread th : threads) {
        th.join();
      }
      if (failure.get() != null) {
        throw new IOException("foreground failed", failure.get());
      }
      int total = 0;
      for (Longs s : starts) {
        total += s.n;
      }
      long[] st = new long[total];
      long[] la = new long[total];
      int at = 0;
      for (int k = 0; k < w.threads; k++) {
        System.arraycopy(starts[k].a, 0, st, at, starts[k].n);
        System.arraycopy(lats[k].a, 0, la, at, lats[k].n);
        at += starts[k].n;
      }
      return new Run(st, la, ws, we, fe, copied, completed);
    } finally {
      Files.deleteIfExists(img);
    }
  }

  private static void sleep(double seconds) throws InterruptedException {
    Thread.sleep((long) (seconds * 1000));
  }
}
