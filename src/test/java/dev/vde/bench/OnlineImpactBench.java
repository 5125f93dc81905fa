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

  /** The operations of one run, and the window they are judged in (seconds since the foreground started). */
  record Run(long[] start, long[] latency, double windowStart, double windowEnd, long inodesCopied,
      boolean completed) {
    double throughput() {
      return inWindow().length / (windowEnd - windowStart);
    }

    long[] inWindow() {
      long a = (long) (windowStart * 1e9);
      long b = (long) (windowEnd * 1e9);
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
    Stats[][] ratio = new Stats[Workload.values().length][conditions.size()];
    Stats[][] p50 = new Stats[Workload.values().length][conditions.size()];
    Stats[][] p99 = new Stats[Workload.values().length][conditions.size()];
    Stats[][] maxLat = new Stats[Workload.values().length][conditions.size()];
    Stats[][] migSecs = new Stats[Workload.values().length][conditions.size()];
    Stats[][] migRate = new Stats[Workload.values().length][conditions.size()];
    for (Stats[][] s : List.of(tput, ratio, p50, p99, maxLat, migSecs, migRate)) {
      for (Stats[] row : s) {
        for (int c = 0; c < row.length; c++) {
          row[c] = new Stats();
        }
      }
    }
    List<LatencyChart.Panel> chartPanels = new ArrayList<>();
    for (int rep = 0; rep < a.reps; rep++) {
      for (Workload w : workloads) {
        double idle = Double.NaN;
        for (int c = 0; c < conditions.size(); c++) {
          Condition cond = conditions.get(c);
          Run run = runOne(online, a.work.resolve("online.vde"), w, cond, fgBytes, lead, window);
          long[] lat = run.inWindow();
          double tp = run.throughput();
          if (c == 0) {
            idle = tp;
          }
          tput[w.ordinal()][c].add(tp);
          ratio[w.ordinal()][c].add(tp / idle);
          p50[w.ordinal()][c].add(Stats.at(lat, 0.5) / 1e3);
          p99[w.ordinal()][c].add(Stats.at(lat, 0.99) / 1e3);
          maxLat[w.ordinal()][c].add(lat.length == 0 ? Double.NaN : lat[lat.length - 1] / 1e3);
          if (cond.migrate()) {
            double secs = run.windowEnd() - run.windowStart();
            migSecs[w.ordinal()][c].add(secs);
            migRate[w.ordinal()][c].add(run.inodesCopied() / secs);
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
        + "two blocks). Each run: %.1f s of foreground alone, then the migration (unthrottled: until it completes; "
        + "throttled: %.1f s, then `MigrationControl.cancel()`; idle: %.1f s of nothing), then %.1f s alone again. "
        + "Throughput and latency percentiles count the operations that started inside the migration window. The "
        + "migration uses `MigrationOptions.defaults()` (checkpoint every "
        + String.format(Locale.ROOT, "%,d", MigrationOptions.DEFAULT_CHECKPOINT_EVERY) + " inodes and at least "
        + "once a second, yielding to the "
        + "foreground unless the row says otherwise) with `MigrationControl.setMaxIops`. Repetitions: %d; every operation of the first "
        + "repetition is in `bench/out/latency/*.csv` (start ms, latency µs; the first line gives the migration window).", base.inodesUsed(),
        Tools.mib(fgBytes), lead, window, window, lead, a.reps));
    for (Workload w : workloads) {
      r.heading("4 KiB random " + w.label);
      Table t = new Table("condition", "ops/s: median (min–max)", "vs idle", "p50 µs", "p99 µs", "max µs",
          "migration window", "inodes/s migrated");
      for (int c = 0; c < conditions.size(); c++) {
        int i = w.ordinal();
        t.row(conditions.get(c).label(), tput[i][c].scaled(1, ""), c == 0 ? "1x" : Stats.ratio(ratio[i][c].median()),
            Stats.num(p50[i][c].median()), Stats.num(p99[i][c].median()), Stats.num(maxLat[i][c].median()),
            conditions.get(c).migrate() ? migSecs[i][c].seconds() : Stats.secs(window),
            conditions.get(c).migrate() ? Stats.num(migRate[i][c].median()) : "");
      }
      r.table(t);
    }
    if (!chartPanels.isEmpty()) {
      Path png = charts.resolve("migration-latency.png");
      LatencyChart.render(png, String.format("Foreground latency during an unthrottled migration (%,d inodes, "
          + "adding Tags), 100 ms bins", n), chartPanels, 0.1);
      r.text("![Foreground latency over time during a migration](migration-latency.png)");
    }
    double worst = Double.MAX_VALUE;
    String worstName = "";
    for (Workload w : workloads) {
      double v = ratio[w.ordinal()][1].median();
      if (v < worst) {
        worst = v;
        worstName = w.label;
      }
    }
    StringBuilder all = new StringBuilder();
    for (Workload w : workloads) {
      all.append(all.length() == 0 ? "" : ", ").append(w.name().toLowerCase().replace('_', '×'))
          .append(' ').append(Math.round(100 * ratio[w.ordinal()][1].median())).append('%');
    }
    r.target("migration", "foreground keeps ≥ 50% of idle throughput during an unthrottled migration",
        String.format("worst %.0f%% (4 KiB random %s); %s", 100 * worst, worstName, all), worst >= 0.5,
        String.format("%,d-inode migration", n));
    r.flush();
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
      return new Run(st, la, ws, we, copied, completed);
    } finally {
      Files.deleteIfExists(img);
    }
  }

  private static void sleep(double seconds) throws InterruptedException {
    Thread.sleep((long) (seconds * 1000));
  }
}
