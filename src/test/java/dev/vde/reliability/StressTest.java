package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.VdeNotFoundException;
import dev.vde.format.BlockCodec;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.DirEntry;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.module.Tags;
import dev.vde.module.copy.CopyOptions;
import dev.vde.module.copy.ExtentAwareCopy;
import dev.vde.testing.FsModel;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Concurrent readers and writers on a volume in a real host file for a bounded time, while inode migrations
 * (one completed, one cancelled and rolled back), extent-aware copies, tag updates and checkpoints run. Each
 * writer owns a directory and keeps its model; file content is a sequence of self-checking records, so a reader
 * can tell a torn or mixed read from a correct one without knowing which version it should see.
 *
 * <p>At the end: verify clean, the tree equal to the union of the writers' models, also after close and reopen;
 * every copy clean, and each writer's directory in it equal to that writer's model at some point between the
 * copy's start and end (a copy is one consistent state). Default run: {@value #DEFAULT_SECONDS} s; the
 * {@code stress}-tagged variant runs {@code -Dvde.stress.seconds} (default 120).
 */
class StressTest {
  static final int DEFAULT_SECONDS = 12;
  static final int WINDOW_SECONDS = 6;
  static final long SEED = Long.getLong("vde.reliability.seed", 0x5EED_2025L);
  static final int WRITERS = 3;
  static final int READERS = 2;

  @TempDir
  Path dir;

  @Test
  void concurrentReadersAndWriters_withMigrationsCopiesAndTags_endCleanAndEqualToTheModel() throws Exception {
    new Run(dir, DEFAULT_SECONDS).run();
  }

  /** The same with a commit window: writes return before they are durable and a flusher thread commits them. */
  @Test
  void concurrentReadersAndWriters_withACommitWindow_endCleanAndEqualToTheModel() throws Exception {
    Run run = new Run(dir, WINDOW_SECONDS);
    run.commitWindow = Duration.ofMillis(2);
    run.run();
  }

  @Tag("stress")
  @Test
  void longStress_concurrentReadersAndWriters_withMigrationsCopiesAndTags() throws Exception {
    new Run(dir, Long.getLong("vde.stress.seconds", 120)).run();
  }

  // ------------------------------------------------------------------------------------------------ records

  /** A record: u32 length, u64 sequence, payload, u64 checksum of the three. Files are records back to back. */
  static byte[] record(long seq, int payloadLen, SplittableRandom rnd) {
    ByteBuffer b = ByteBuffer.allocate(4 + 8 + payloadLen + 8);
    b.putInt(payloadLen).putLong(seq);
    byte[] p = new byte[payloadLen];
    for (int i = 0; i < p.length; i++) {
      p[i] = (byte) rnd.nextInt(256);
    }
    b.put(p);
    b.putLong(BlockCodec.hash(b.array(), 0, 12 + payloadLen));
    return b.array();
  }

  /** Null when {@code data} is whole records with valid checksums, else what is wrong with it. */
  static String recordProblem(byte[] data) {
    int off = 0;
    while (off < data.length) {
      if (off + 12 > data.length) {
        return "truncated record header at " + off + " of " + data.length;
      }
      int len = ByteBuffer.wrap(data, off, 4).getInt();
      if (len < 0 || off + 20L + len > data.length) {
        return "record at " + off + " claims " + len + " bytes, file has " + data.length;
      }
      long want = ByteBuffer.wrap(data, off + 12 + len, 8).getLong();
      if (BlockCodec.hash(data, off, 12 + len) != want) {
        return "record at " + off + " fails its checksum (torn or mixed content)";
      }
      off += 20 + len;
    }
    return null;
  }

  // ------------------------------------------------------------------------------------------------ the run

  private static final class Run {
    final Path dir;
    final long seconds;
    final AtomicBoolean stop = new AtomicBoolean();
    final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    final AtomicLong writes = new AtomicLong();
    final AtomicLong reads = new AtomicLong();
    final AtomicLong readsOfVanished = new AtomicLong();
    final AtomicLong tagOps = new AtomicLong();
    final AtomicLong checkpoints = new AtomicLong();
    final List<Writer> writers = new ArrayList<>();
    final List<CopyCheck> copies = Collections.synchronizedList(new ArrayList<>());
    VirtualDisk disk;
    Duration commitWindow = Duration.ZERO;

    Run(Path dir, long seconds) {
      this.dir = dir;
      this.seconds = seconds;
    }

    void run() throws Exception {
      Path image = dir.resolve("stress.vde");
      disk = VirtualDisk.create(image, CreateOptions.ofSize(256L << 20).inodeCount(16384).label("stress"));
      disk.setCommitWindow(commitWindow);
      System.out.printf("[reliability] stress: %d s, seed %d (-Dvde.reliability.seed), commit window %s%n", seconds,
          SEED, commitWindow);
      List<Thread> threads = new ArrayList<>();
      for (int w = 0; w < WRITERS; w++) {
        Writer wr = new Writer(w, new SplittableRandom(SEED + w));
        disk.mkdir(wr.root);
        writers.add(wr);
        threads.add(thread("writer-" + w, wr::loop));
      }
      for (int r = 0; r < READERS; r++) {
        SplittableRandom rnd = new SplittableRandom(SEED + 100 + r);
        threads.add(thread("reader-" + r, () -> readLoop(rnd)));
      }
      threads.add(thread("checkpointer", this::checkpointLoop));
      threads.add(thread("tagger", () -> tagLoop(new SplittableRandom(SEED + 200))));
      long t0 = System.nanoTime();
      threads.forEach(Thread::start);
      long end = t0 + seconds * 1_000_000_000L;
      modulePhases(end);
      while (System.nanoTime() < end) {
        Thread.sleep(50);
      }
      stop.set(true);
      for (Thread t : threads) {
        t.join(60_000);
        assertThat(t.isAlive()).as(t.getName() + " stopped").isFalse();
      }
      assertThat(failures).as("failures during the run").isEmpty();
      checkFinal(image);
      for (CopyCheck c : copies) {
        c.check();
      }
      assertThat(copies).as("copies made during the run").isNotEmpty();
      System.out.printf("[reliability] stress operations: %,d writes, %,d reads (%,d of files deleted meanwhile), "
          + "%,d tag updates, %,d checkpoints, %d copies, 2 migrations (1 completed, 1 rolled back) in %d s%n",
          writes.get(), reads.get(), readsOfVanished.get(), tagOps.get(), checkpoints.get(), copies.size(), seconds);
      assertThat(writes.get()).as("writes").isGreaterThan(100);
      assertThat(reads.get()).as("reads").isGreaterThan(100);
    }

    private Thread thread(String name, Body body) {
      Thread t = new Thread(() -> {
        try {
          body.run();
        } catch (Throwable e) {
          failures.add(name + ": " + CrashCampaign.stackTrace(e));
          stop.set(true);
        }
      }, name);
      t.setDaemon(true);
      return t;
    }

    /** Module management while the foreground threads run, then copies until the end. */
    private void modulePhases(long end) throws Exception {
      long span = end - System.nanoTime();
      sleepUntil(end - span * 9 / 10);
      // 1: add Tags by migration while everyone writes; small checkpoint interval, yielding to writers.
      InodeMigration.start(disk, List.of(Module.TAGS), MigrationOptions.defaults().checkpointEvery(64)
          .control(new MigrationControl(0, true)));
      copy("after the Tags migration");
      sleepUntil(end - span * 5 / 10);
      // 2: a second migration cancelled after a few batches, left pending under writes, then rolled back.
      MigrationControl control = new MigrationControl(0, true);
      int[] reports = {0};
      InodeMigration.start(disk, List.of(Module.SECURITY), MigrationOptions.defaults().checkpointEvery(16)
          .control(control).listener(p -> {
            if (++reports[0] >= 3) {
              control.cancel();
            }
          }));
      Thread.sleep(200);
      if (InodeMigration.isPending(disk)) {
        InodeMigration.rollback(disk);
      } else {
        failures.add("the Security migration finished instead of being cancelled; nothing was rolled back");
      }
      copy("after the rollback");
      while (System.nanoTime() < end - 3_000_000_000L) {
        sleepUntil(Math.min(end - 3_000_000_000L, System.nanoTime() + 15_000_000_000L));
        copy("periodic");
      }
    }

    private void sleepUntil(long nanos) throws InterruptedException {
      while (System.nanoTime() < nanos && !stop.get()) {
        Thread.sleep(20);
      }
    }

    private void copy(String why) throws IOException {
      Path dest = dir.resolve("copy-" + copies.size() + ".vde");
      long[] ackedBefore = new long[WRITERS];
      for (int w = 0; w < WRITERS; w++) {
        ackedBefore[w] = writers.get(w).acked();
      }
      ExtentAwareCopy.copy(disk, dest, CopyOptions.defaults());
      long[] startedBefore = new long[WRITERS];
      for (int w = 0; w < WRITERS; w++) {
        startedBefore[w] = writers.get(w).started();
      }
      copies.add(new CopyCheck(dest, why, ackedBefore, startedBefore));
    }

    private void readLoop(SplittableRandom rnd) throws IOException {
      while (!stop.get()) {
        Writer w = writers.get(rnd.nextInt(WRITERS));
        List<DirEntry> entries = disk.list(w.root);
        if (entries.isEmpty()) {
          continue;
        }
        DirEntry e = entries.get(rnd.nextInt(entries.size()));
        byte[] data;
        try {
          data = disk.readFile(e.path());
        } catch (VdeNotFoundException gone) {
          // Deleted or renamed by its writer between the listing and the read: a correct answer.
          readsOfVanished.incrementAndGet();
          continue;
        }
        String p = recordProblem(data);
        if (p != null) {
          failures.add("reader: " + e.path() + ": " + p);
        }
        reads.incrementAndGet();
      }
    }

    private void checkpointLoop() throws Exception {
      while (!stop.get()) {
        Thread.sleep(300);
        disk.checkpoint();
        checkpoints.incrementAndGet();
      }
    }

    /** Once Tags is active: tags on random files; a file deleted meanwhile is a correct VdeNotFoundException. */
    private void tagLoop(SplittableRandom rnd) throws Exception {
      while (!stop.get()) {
        if ((disk.volume().superblock().moduleManifest() & Module.TAGS.bit()) == 0) {
          Thread.sleep(20);
          continue;
        }
        Writer w = writers.get(rnd.nextInt(WRITERS));
        List<DirEntry> entries = disk.list(w.root);
        if (entries.isEmpty()) {
          continue;
        }
        try {
          Tags.set(disk, entries.get(rnd.nextInt(entries.size())).path(), "k" + rnd.nextInt(3), "v" + rnd.nextInt(99));
          tagOps.incrementAndGet();
        } catch (VdeNotFoundException gone) {
          // Its writer deleted it first.
        }
        Thread.sleep(2);
      }
    }

    private void checkFinal(Path image) throws IOException {
      FsModel expected = new FsModel();
      for (Writer w : writers) {
        expected.mkdir(w.root);
        for (Map.Entry<String, byte[]> f : w.files.entrySet()) {
          expected.writeFile(f.getKey(), f.getValue());
        }
      }
      TestVolumes.assertClean(disk.verify(Progress.NONE), "after the stress run");
      assertThat(FsModel.readFrom(disk).diff(expected)).as("tree after the stress run").isEmpty();
      disk.close();
      try (VirtualDisk again = VirtualDisk.open(image, OpenOptions.readOnlyOptions())) {
        TestVolumes.assertClean(again.verify(Progress.NONE), "after close and reopen");
        assertThat(FsModel.readFrom(again).diff(expected)).as("tree after close and reopen").isEmpty();
        assertThat(again.volume().superblock().moduleManifest() & Module.TAGS.bit()).as("Tags active").isNotZero();
        assertThat(InodeMigration.isPending(again)).as("no migration left pending").isFalse();
      }
    }

    /** A copy taken during the run, checked at the end against the writers' histories. */
    private final class CopyCheck {
      final Path dest;
      final String why;
      final long[] ackedBefore;
      final long[] startedBefore;

      CopyCheck(Path dest, String why, long[] ackedBefore, long[] startedBefore) {
        this.dest = dest;
        this.why = why;
        this.ackedBefore = ackedBefore;
        this.startedBefore = startedBefore;
      }

      void check() throws IOException {
        String ctx = "copy " + dest.getFileName() + " (" + why + ")";
        try (VirtualDisk c = VirtualDisk.open(dest, OpenOptions.readOnlyOptions())) {
          TestVolumes.assertClean(c.verify(Progress.NONE), ctx);
          FsModel tree = FsModel.readFrom(c);
          for (int w = 0; w < WRITERS; w++) {
            Writer wr = writers.get(w);
            long fp = Writer.fingerprint(tree, wr.root);
            int at = wr.history.indexOf(fp);
            List<Long> window = wr.history.subList((int) ackedBefore[w], (int) Math.min(wr.history.size(),
                startedBefore[w] + 1));
            assertThat(window).as(ctx + ": " + wr.root + " in the copy must be its writer's state after one of ops "
                + ackedBefore[w] + ".." + startedBefore[w] + " (found at op " + at + ")").contains(fp);
          }
        }
        Files.deleteIfExists(dest);
      }
    }

    /** A writer of its own directory, with its model and the fingerprint of its directory after every op. */
    private final class Writer {
      final int id;
      final String root;
      final SplittableRandom rnd;
      final TreeMap<String, byte[]> files = new TreeMap<>();
      /** history.get(k) is the fingerprint after k ops; entry 0 is the empty directory. */
      final List<Long> history = Collections.synchronizedList(new ArrayList<>());
      private final AtomicLong started = new AtomicLong();
      private final AtomicLong acked = new AtomicLong();
      private long seq;
      private int names;

      Writer(int id, SplittableRandom rnd) {
        this.id = id;
        this.root = "/w" + id;
        this.rnd = rnd;
        history.add(fingerprint(files));
      }

      long started() {
        return started.get();
      }

      long acked() {
        return acked.get();
      }

      void loop() throws IOException {
        while (!stop.get()) {
          started.incrementAndGet();
          step();
          history.add(fingerprint(files));
          acked.incrementAndGet();
          writes.incrementAndGet();
        }
      }

      private void step() throws IOException {
        List<String> paths = new ArrayList<>(files.keySet());
        int op = paths.size() < 5 ? 0 : rnd.nextInt(paths.size() > 40 ? 6 : 5);
        switch (op) {
          case 0 -> {
            String p = root + "/f" + (names++);
            byte[] b = records(1 + rnd.nextInt(4));
            disk.writeFile(p, b);
            files.put(p, b);
          }
          case 1 -> {
            String p = pick(paths);
            byte[] r = records(1);
            disk.append(p, r);
            files.put(p, concat(files.get(p), r));
          }
          case 2 -> {
            // Overwrite the first record in place with one of the same length (a positional copy-on-write).
            String p = pick(paths);
            byte[] old = files.get(p);
            int len = ByteBuffer.wrap(old, 0, 4).getInt();
            byte[] r = record(++seq * 16 + id, len, rnd);
            disk.write(p, 0, r, 0, r.length);
            byte[] now = old.clone();
            System.arraycopy(r, 0, now, 0, r.length);
            files.put(p, now);
          }
          case 3 -> {
            String from = pick(paths);
            String to = root + "/f" + (names++);
            disk.rename(from, to);
            files.put(to, files.remove(from));
          }
          case 4 -> {
            String p = pick(paths);
            byte[] b = records(1 + rnd.nextInt(3));
            disk.writeFile(p, b);
            files.put(p, b);
          }
          default -> {
            String p = pick(paths);
            disk.delete(p);
            files.remove(p);
          }
        }
      }

      private byte[] records(int n) {
        byte[] out = new byte[0];
        for (int i = 0; i < n; i++) {
          out = concat(out, record(++seq * 16 + id, rnd.nextInt(3000), rnd));
        }
        return out;
      }

      private String pick(List<String> xs) {
        return xs.get(rnd.nextInt(xs.size()));
      }

      static long fingerprint(Map<String, byte[]> files) {
        long h = 0;
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
          h += fileHash(e.getKey(), e.getValue());
        }
        return h;
      }

      static long fingerprint(FsModel tree, String root) {
        TreeMap<String, byte[]> mine = new TreeMap<>();
        for (Map.Entry<String, byte[]> e : tree.files().entrySet()) {
          if (e.getKey().startsWith(root + "/")) {
            mine.put(e.getKey(), e.getValue());
          }
        }
        return fingerprint(mine);
      }

      private static long fileHash(String path, byte[] data) {
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        long a = BlockCodec.hash(p, 0, p.length);
        long b = BlockCodec.hash(data, 0, data.length);
        return new SplittableRandom(a ^ (b * 0x9E3779B97F4A7C15L)).nextLong();
      }
    }
  }

  static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @FunctionalInterface
  private interface Body {
    void run() throws Exception;
  }
}
