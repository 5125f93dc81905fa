package dev.vde.bench;

import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.copy.CopyOptions;
import dev.vde.module.copy.CopyResult;
import dev.vde.module.copy.ExtentAwareCopy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Scenario 2b: how long a copy of a volume in use holds its writers off, with and without the pre-copy. A writer
 * thread keeps rewriting 4 KiB files (each durable when it returns) while the volume is copied in-process with
 * {@code ExtentAwareCopy.copy(disk, path, options)}; the copy reports its pause, and the writer's longest single
 * write during the copy shows what an application sees.
 */
public final class LiveCopyBench {
  private LiveCopyBench() {}

  public static void main(String[] argv) throws Exception {
    BenchArgs a = BenchArgs.parse(argv, 5, 1);
    long volume = a.quick ? 256L << 20 : 2L << 30;
    int fileBytes = 4096;
    Report r = new Report(a.out, "25-live-copy", "2b. Copy of a volume in use: how long writers wait");
    Path w = a.work;
    Tools.deleteTree(w);
    Files.createDirectories(w);
    Path src = w.resolve("live.vde");
    Path dst = w.resolve("copy.vde");
    byte[] chunk = Tools.randomBytes(5, 16 << 20);
    long live;
    try (VirtualDisk d = VirtualDisk.create(src, CreateOptions.ofSize(volume))) {
      long target = volume / 10;
      d.mkdirs("/data");
      int i = 0;
      for (live = 0; live < target; live += chunk.length) {
        d.writeFile("/data/f" + i++, chunk);
      }
      d.mkdirs("/live");
    }
    Stats[] pause = {new Stats(), new Stats()};
    Stats[] took = {new Stats(), new Stats()};
    Stats[] longest = {new Stats(), new Stats()};
    Stats[] writes = {new Stats(), new Stats()};
    try (VirtualDisk d = VirtualDisk.open(src)) {
      AtomicBoolean stop = new AtomicBoolean();
      // Every write's start and end (nanoTime), in completion order; read under the list's lock.
      List<long[]> done = new ArrayList<>();
      AtomicReference<Throwable> failed = new AtomicReference<>();
      Thread writer = new Thread(() -> {
        byte[] data = Tools.randomBytes(6, fileBytes);
        try {
          for (int i = 0; !stop.get(); i++) {
            long t0 = System.nanoTime();
            d.writeFile("/live/f" + (i % 200), data);
            long t1 = System.nanoTime();
            synchronized (done) {
              done.add(new long[] {t0, t1});
              done.notifyAll();
            }
          }
        } catch (Throwable e) {
          failed.set(e);
          synchronized (done) {
            done.notifyAll();
          }
        }
      }, "bench-writer");
      writer.setDaemon(true);
      writer.start();
      for (int rep = 0; rep < a.reps; rep++) {
        // The two ways alternate which goes first.
        for (int k = 0; k < 2; k++) {
          int way = (k + rep) % 2;
          Files.deleteIfExists(dst);
          Thread.sleep(200);
          long t0 = System.nanoTime();
          CopyResult res = ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().preCopy(way == 1));
          long t1 = System.nanoTime();
          took[way].add((t1 - t0) / 1e9);
          pause[way].add(res.pauseMillis() / 1e3);
          // A write the copy held off may end after the copy returns: wait for the write in flight at the end,
          // then take every write that overlapped the copy, whenever it started or ended.
          long longestNanos = 0;
          long completed = 0;
          synchronized (done) {
            while (failed.get() == null && (done.isEmpty() || done.get(done.size() - 1)[1] < t1)) {
              done.wait(1000);
            }
            for (long[] op : done) {
              if (op[0] < t1 && op[1] > t0) {
                longestNanos = Math.max(longestNanos, op[1] - op[0]);
              }
              if (op[1] >= t0 && op[1] < t1) {
                completed++;
              }
            }
            done.clear();
          }
          longest[way].add(longestNanos / 1e9);
          writes[way].add(completed);
        }
      }
      stop.set(true);
      writer.join();
      if (failed.get() != null) {
        throw new IllegalStateException("the writer failed", failed.get());
      }
    }
    Files.deleteIfExists(dst);
    Table t = new Table("copy", "time: median (min–max)", "writers held off",
        "longest 4 KiB write overlapping the copy", "writes completed during the copy");
    String[] names = {"writers paused for the whole read (preCopy(false))", "pre-copy, then a paused final pass "
        + "(default)"};
    for (int way = 0; way < 2; way++) {
      t.row(names[way], took[way].seconds(), pause[way].scaled(1000, "ms"), longest[way].scaled(1000, "ms"),
          Stats.num(writes[way].median()));
    }
    r.text(String.format("A %s volume holding %s of files (16 MiB each), copied in-process while a writer thread "
        + "rewrites 200 files of 4 KiB over and over, each write durable when it returns. \"Writers held off\" is "
        + "`CopyResult.pauseMillis()`: the final pass (and the first scan, when it had to be made again with publishing held) for the pre-copy; the whole read of the "
        + "source without it. Neither includes the destination's final sync, which runs after the writers resume. "
        + "The longest write counts every write that overlapped the copy, including one held off by it that ends "
        + "after the copy returns; the write count, those that ended during the copy. "
        + "The page cache is not dropped (the source stays cached between copies). Repetitions: %d, alternating "
        + "which way goes first.", Tools.gib(volume), Tools.mib(live), a.reps));
    r.table(t);
    r.flush();
  }
}
