package dev.vde.module.migration;

import static dev.vde.module.migration.MigrationFixture.TAGS;
import static dev.vde.module.migration.MigrationFixture.TAGS_INODE_SIZE;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.VdeNotFoundException;
import dev.vde.format.MigrationCheckpoint.Phase;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationResult;
import dev.vde.testing.FsModel;
import dev.vde.testing.SeededBytes;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A migration on a real host file while two writers overwrite, create and delete files and two readers read
 * and compare them, for the whole migration. Each writer owns its own set of paths and publishes, per path, the
 * last acknowledged content and whether an operation on it is in flight; a reader compares a file only when the
 * same published record was current before and after its read, so every comparison is exact. Afterwards, and
 * after a reopen, the volume must hold exactly the published contents.
 */
class MigrationConcurrencyTest {
  private static final int WRITERS = 2;
  private static final int READERS = 2;
  private static final int FILES_PER_WRITER = 1500;
  /** Files nobody writes: readers always compare them. */
  private static final int STILL_FILES = 1000;

  @TempDir
  Path dir;

  /** How the migration is driven. */
  enum Variant {
    DEFAULT, YIELD_TO_FOREGROUND, MAX_IOPS_5000;

    MigrationControl control() {
      MigrationControl c = new MigrationControl(0, false);
      if (this == YIELD_TO_FOREGROUND) {
        c.setYieldToForeground(true);
      } else if (this == MAX_IOPS_5000) {
        c.setMaxIops(5000);
      }
      return c;
    }
  }

  /** The last acknowledged state of one path ({@code content} null: deleted), or an operation in flight on it. */
  private record Published(byte[] content, boolean inFlight) {}

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void migrationUnderConcurrentReadersAndWriters_losesNoAcknowledgedWrite_andReadersSeeOnlyPublishedContent(
      Variant variant) throws Exception {
    Path file = dir.resolve("concurrent.vde");
    VirtualDisk disk = VirtualDisk.create(file, CreateOptions.ofSize(64L << 20).inodeCount(8192).label("busy"));
    List<Map<String, Published>> owned = new ArrayList<>();
    FsModel still = new FsModel();
    populate(disk, owned, still);

    AtomicBoolean stop = new AtomicBoolean();
    ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
    AtomicLong[] writerOps = new AtomicLong[WRITERS];
    AtomicLong comparisons = new AtomicLong();
    ExecutorService pool = Executors.newFixedThreadPool(WRITERS + READERS + 1);
    MigrationResult result;
    long[] opsAtStart = new long[WRITERS];
    long[] opsAtEnd = new long[WRITERS];
    try {
      List<Future<?>> workers = new ArrayList<>();
      for (int w = 0; w < WRITERS; w++) {
        writerOps[w] = new AtomicLong();
        int ww = w;
        workers.add(pool.submit(() -> write(disk, ww, owned.get(ww), writerOps[ww], stop, errors)));
      }
      for (int r = 0; r < READERS; r++) {
        int rr = r;
        workers.add(pool.submit(() -> read(disk, rr, owned, still, comparisons, stop, errors)));
      }
      for (int w = 0; w < WRITERS; w++) {
        opsAtStart[w] = writerOps[w].get();
      }
      MigrationOptions opts = MigrationOptions.defaults().checkpointEvery(500).control(variant.control())
          .listener(p -> {
            if (p.phase() == Phase.COPYING_INODES) {
              // However fast the copy, every batch is followed by acknowledged writes of both writers, so the
              // foreground really runs during the migration (and under the yield and throttle settings).
              awaitProgress(writerOps, errors);
            }
          });
      Future<MigrationResult> migration = pool.submit(() -> InodeMigration.start(disk, TAGS, opts));
      result = migration.get(5, TimeUnit.MINUTES);
      for (int w = 0; w < WRITERS; w++) {
        opsAtEnd[w] = writerOps[w].get();
      }
      stop.set(true);
      for (Future<?> f : workers) {
        f.get(2, TimeUnit.MINUTES);
      }
    } finally {
      stop.set(true);
      pool.shutdownNow();
      pool.awaitTermination(1, TimeUnit.MINUTES);
    }

    assertThat(errors).as("errors seen by writers and readers").isEmpty();
    assertThat(result.cancelled()).isFalse();
    for (int w = 0; w < WRITERS; w++) {
      assertThat(opsAtEnd[w] - opsAtStart[w]).as("writer %d's operations during the migration", w).isPositive();
    }
    assertThat(comparisons.get()).as("exact comparisons made by the readers").isGreaterThan(100);
    FsModel expected = expectedTree(owned, still);
    assertThat(disk.info().inodeSize()).isEqualTo(TAGS_INODE_SIZE);
    assertThat(InodeMigration.status(disk)).isNull();
    assertThat(MigrationFixture.treeDiff(disk, expected)).as("tree after the migration").isEmpty();
    assertThat(MigrationFixture.verifyProblems(disk)).as("verify after the migration").isEmpty();
    disk.close();

    try (VirtualDisk reopened = VirtualDisk.open(file)) {
      assertThat(reopened.info().inodeSize()).isEqualTo(TAGS_INODE_SIZE);
      assertThat(MigrationFixture.treeDiff(reopened, expected)).as("tree after reopen").isEmpty();
      assertThat(MigrationFixture.verifyProblems(reopened)).as("verify after reopen").isEmpty();
    }
  }

  /** /w0 and /w1 with each writer's files, /still with files nobody changes; one batch per 100 files. */
  private static void populate(VirtualDisk disk, List<Map<String, Published>> owned, FsModel still)
      throws IOException {
    for (int w = 0; w < WRITERS; w++) {
      Map<String, Published> m = new ConcurrentHashMap<>();
      String d = "/w" + w;
      disk.mkdir(d);
      for (int from = 0; from < FILES_PER_WRITER; from += 100) {
        int f0 = from;
        int ww = w;
        disk.batch(x -> {
          for (int f = f0; f < f0 + 100; f++) {
            byte[] data = SeededBytes.bytes(ww * 100_000L + f, (f * 37) % 4000);
            x.writeFile(d + "/f" + f, data);
            m.put(d + "/f" + f, new Published(data, false));
          }
        });
      }
      owned.add(m);
    }
    disk.mkdir("/still");
    still.mkdir("/still");
    for (int from = 0; from < STILL_FILES; from += 100) {
      int f0 = from;
      disk.batch(x -> {
        for (int f = f0; f < f0 + 100; f++) {
          byte[] data = SeededBytes.bytes(-1 - f, (f * 53) % 6000);
          x.writeFile("/still/f" + f, data);
          still.writeFile("/still/f" + f, data);
        }
      });
    }
  }

  /** Waits (bounded) until every writer has acknowledged another operation. */
  private static void awaitProgress(AtomicLong[] writerOps, ConcurrentLinkedQueue<String> errors) {
    long[] seen = new long[writerOps.length];
    for (int w = 0; w < writerOps.length; w++) {
      seen[w] = writerOps[w].get();
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    for (int w = 0; w < writerOps.length; w++) {
      while (writerOps[w].get() <= seen[w]) {
        if (System.nanoTime() > deadline) {
          errors.add("writer " + w + " acknowledged nothing for 30 s while the migration waited between batches");
          return;
        }
        Thread.onSpinWait();
      }
    }
  }

  /**
   * One writer: on a random path of its own, overwrite (or delete, one time in four) an existing file, or create
   * a deleted one. The path is marked in flight before the call and published after it returns.
   */
  private static Void write(VirtualDisk disk, int w, Map<String, Published> mine, AtomicLong ops,
      AtomicBoolean stop, ConcurrentLinkedQueue<String> errors) {
    SplittableRandom rnd = new SplittableRandom(0xB0B + w);
    String[] paths = mine.keySet().toArray(new String[0]);
    Arrays.sort(paths);
    try {
      for (long n = 0; !stop.get(); n++) {
        String p = paths[rnd.nextInt(paths.length)];
        Published cur = mine.get(p);
        byte[] next = cur.content() != null && rnd.nextInt(4) == 0 ? null
            : SeededBytes.bytes(w * 1_000_000_007L + n, rnd.nextInt(6000));
        mine.put(p, new Published(cur.content(), true));
        if (next == null) {
          disk.delete(p);
        } else {
          disk.writeFile(p, next);
        }
        mine.put(p, new Published(next, false));
        ops.incrementAndGet();
      }
    } catch (IOException | RuntimeException e) {
      errors.add("writer " + w + " failed: " + e);
    }
    return null;
  }

  /**
   * One reader: reads random files of the writers and of /still and compares them with the published content,
   * skipping a read whenever the path's published record changed or was in flight around it.
   */
  private static Void read(VirtualDisk disk, int r, List<Map<String, Published>> owned, FsModel still,
      AtomicLong comparisons, AtomicBoolean stop, ConcurrentLinkedQueue<String> errors) {
    SplittableRandom rnd = new SplittableRandom(0x5EAD + r);
    List<String[]> paths = new ArrayList<>();
    for (Map<String, Published> m : owned) {
      paths.add(m.keySet().toArray(new String[0]));
    }
    String[] stillPaths = still.files().keySet().toArray(new String[0]);
    try {
      while (!stop.get()) {
        int which = rnd.nextInt(owned.size() + 1);
        if (which == owned.size()) {
          String p = stillPaths[rnd.nextInt(stillPaths.length)];
          compare(p, still.content(p), disk.readFile(p), errors);
          comparisons.incrementAndGet();
          continue;
        }
        Map<String, Published> m = owned.get(which);
        String[] ps = paths.get(which);
        String p = ps[rnd.nextInt(ps.length)];
        Published before = m.get(p);
        if (before.inFlight()) {
          continue;
        }
        byte[] seen;
        try {
          seen = disk.readFile(p);
        } catch (VdeNotFoundException gone) {
          seen = null;
        }
        if (m.get(p) != before) {
          continue;
        }
        compare(p, before.content(), seen, errors);
        comparisons.incrementAndGet();
      }
    } catch (IOException | RuntimeException e) {
      errors.add("reader " + r + " failed: " + e);
    }
    return null;
  }

  private static void compare(String p, byte[] want, byte[] seen, ConcurrentLinkedQueue<String> errors) {
    if (want == null && seen != null) {
      errors.add(p + " was deleted (acknowledged) but reads " + seen.length + " bytes");
    } else if (want != null && seen == null) {
      errors.add(p + " is missing; its acknowledged content has " + want.length + " bytes");
    } else if (want != null && !Arrays.equals(want, seen)) {
      errors.add(p + " differs from its acknowledged content: " + FsModel.describeDifference(want, seen));
    }
  }

  private static FsModel expectedTree(List<Map<String, Published>> owned, FsModel still) {
    FsModel m = still.copy();
    for (int w = 0; w < owned.size(); w++) {
      m.mkdir("/w" + w);
      for (Map.Entry<String, Published> e : owned.get(w).entrySet()) {
        if (e.getValue().content() != null) {
          m.writeFile(e.getKey(), e.getValue().content());
        }
      }
    }
    return m;
  }
}
