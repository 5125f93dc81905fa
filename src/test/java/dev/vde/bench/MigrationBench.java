package dev.vde.bench;

import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import dev.vde.format.Superblock;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.inode.InodeCodec;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationResult;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Scenario 1: inode migration adding Tags to a volume with no modules (320 → 448-byte inodes), against the
 * physical floor (a plain sequential read of the old table's bytes and a write plus fsync of the new table's
 * bytes) and {@code tune2fs -I 512} on an ext4 image with the same inode count; the checkpoint interval's
 * effect; and the heap a migration needs (a separate JVM with -Xmx64m).
 */
public final class MigrationBench {
  static final int NEW_INODE_SIZE = InodeLayout.canonical(Module.TAGS.bit()).inodeSize();
  private static final int CHUNK = 1 << 20;

  private MigrationBench() {}

  public static void main(String[] argv) throws Exception {
    if (argv.length == 2 && argv[0].equals("--heap-probe")) {
      heapProbe(Path.of(argv[1]));
      return;
    }
    BenchArgs a = BenchArgs.parse(argv, 5, 1);
    Path images = Path.of(a.get("images", a.work.resolve("images").toString()));
    List<Long> sizes = a.quick ? List.of(100_000L) : List.of(100_000L, 1_000_000L);
    Report r = new Report(a.out, "10-migration", "1. Inode migration: adding Tags (320 → 448-byte inodes)");
    Path tune2fs = Tools.which("tune2fs");
    Path mke2fs = Tools.which("mke2fs");
    // dumpe2fs checks each result; without it the comparison is skipped rather than failing the scenario.
    boolean ext4 = tune2fs != null && mke2fs != null && Tools.which("dumpe2fs") != null;
    boolean drop = Tools.canDropCaches();
    r.text("Each vde run migrates a fresh copy of a volume whose inodes are nearly all in use (empty files, 1000 "
        + "per directory, created with `VirtualDisk.batch`), timing `InodeMigration.start(disk, List.of(Module.TAGS),"
        + " MigrationOptions.defaults())` (checkpoint every " + String.format("%,d",
            MigrationOptions.DEFAULT_CHECKPOINT_EVERY) + " inodes, the default) in-process: start transaction, copy, checkpoints, "
        + "swap and completion, all durable when it returns. The process row runs the command a user would, "
        + "`vde module add IMAGE TAGS --option migrate --progress none`, through " + Tools.describeVdeCommand(a)
        + ", timed from start to exit: JVM start-up, opening the volume, planning and the "
        + "migration. The floor reads the old table's initialized bytes "
        + "sequentially from a plain file and writes the new table's bytes to another with `FileChannel`, then "
        + "fsyncs (the same byte counts, no conversion). `tune2fs -I 512` runs on an ext4 image made with `mke2fs "
        + "-F -q -t ext4 -O ^flex_bg,^metadata_csum -I 256 -N <count>` of the same size (empty: its run time does "
        + "not depend on how many inodes are used, since it rewrites every inode table block; creating a million "
        + "files in ext4 did not fit the time budget, and an empty image spares tune2fs moving data blocks, so the "
        + "comparison favours it). Only tune2fs itself is timed; `+ fsync` adds an fsync of the image so that it "
        + "is as durable as the other two. " + (drop ? "The page cache is dropped before every timed run."
            : "The page cache could not be dropped (not root), so runs start warm.")
        + " Repetitions: " + a.reps + ", after one untimed warm-up migration; within each repetition the four "
        + "methods run in turn, and which goes first rotates from one repetition to the next (so do the "
        + "intervals of the checkpoint tables).");
    if (!ext4) {
      r.text("tune2fs/mke2fs/dumpe2fs: missing (e2fsprogs not installed), so the ext4 comparison was not run.");
    }
    Path work = a.work;
    double lastRatioFloor = Double.NaN;
    double lastVde = Double.NaN;
    double lastCli = Double.NaN;
    double lastTune = Double.NaN;
    long lastN = 0;
    long lastMigrated = 0;
    Path lastBase = null;
    // One untimed migration first, so that class loading and JIT compilation are not in the first timed run.
    migrateCopy(MigrationImages.base(images, sizes.get(0)).image(), work.resolve("m.vde"),
        MigrationOptions.DEFAULT_CHECKPOINT_EVERY);
    for (long n : sizes) {
      MigrationImages.Base base = MigrationImages.base(images, n);
      r.heading(String.format("%,d inodes", n));
      // Table geometry from the base image.
      long oldBytes;
      int bs;
      try (VirtualDisk d = VirtualDisk.open(base.image(), OpenOptions.readOnlyOptions())) {
        Superblock sb = d.volume().superblock();
        bs = sb.blockSize();
        oldBytes = sb.inodeTableInitBlocks() * bs;
      }
      Stats vde = new Stats();
      Stats cli = new Stats();
      Stats floor = new Stats();
      Stats tune = new Stats();
      Stats tuneSync = new Stats();
      Tune2fs tuner = ext4 ? new Tune2fs(images, work, n, MigrationImages.volumeBytes(n)) : null;
      Path floorSrc = work.resolve("floor-old.bin");
      Tools.writePlain(floorSrc, oldBytes, Tools.randomBytes(7, CHUNK));
      int ipbNew = InodeCodec.perBlock(bs, NEW_INODE_SIZE);
      long migrated = 0;
      // The methods take turns within each repetition, and the one that goes first rotates, so that a change in
      // the host's speed during the scenario lands on all of them alike. The first repetition starts with the
      // in-process migration, which tells the floor how many inodes the new table holds.
      for (int rep = 0; rep < a.reps; rep++) {
        for (int k = 0; k < 4; k++) {
          switch ((k + rep) % 4) {
            case 0 -> {
              Timed res = migrateCopy(base.image(), work.resolve("m.vde"), MigrationOptions.DEFAULT_CHECKPOINT_EVERY);
              vde.add(res.seconds());
              migrated = res.result().totalInodes();
            }
            case 1 -> cli.add(migrateProcess(Tools.vdeCommand(a), base.image(), work.resolve("m.vde")));
            case 2 -> floor.add(floorOnce(floorSrc, work.resolve("floor-new.bin"), oldBytes,
                (migrated + ipbNew - 1) / ipbNew * bs));
            default -> {
              if (tuner != null) {
                double[] tf = tuner.once();
                tune.add(tf[0]);
                tuneSync.add(tf[0] + tf[1]);
              }
            }
          }
        }
      }
      Files.deleteIfExists(floorSrc);
      long newBytes = (migrated + ipbNew - 1) / ipbNew * bs;
      String ext4Note = tuner != null ? tuner.note() : "";
      Table t = new Table("method", "time: median (min–max)", "inodes/s", "vs floor", "vs tune2fs -I + fsync");
      double v = vde.median();
      double f = floor.median();
      double ts = tuneSync.median();
      t.row("vde migration (in-process)", vde.seconds(), Stats.num(migrated / v), Stats.ratio(v / f),
          ext4 ? Stats.ratio(v / ts) : "n/a");
      double c = cli.median();
      t.row("vde module add … --option migrate (process)", cli.seconds(), Stats.num(migrated / c),
          Stats.ratio(c / f), ext4 ? Stats.ratio(c / ts) : "n/a");
      t.row("floor: read old + write new + fsync", floor.seconds(), Stats.num(migrated / f), "1x",
          ext4 ? Stats.ratio(f / ts) : "n/a");
      if (ext4) {
        t.row("tune2fs -I 512 (process)", tune.seconds(), Stats.num(n / tune.median()),
            Stats.ratio(tune.median() / f), Stats.ratio(tune.median() / ts));
        t.row("tune2fs -I 512 + fsync", tuneSync.seconds(), Stats.num(n / ts), Stats.ratio(ts / f), "1x");
      } else {
        t.row("tune2fs -I 512", "missing", "", "", "");
      }
      r.table(t);
      r.text(String.format("Inodes migrated (`MigrationResult.totalInodes()`): %,d of %,d (%,d in use). Old table "
          + "read: %s, new table written: %s. Building the source volume (%,d empty files and directories in "
          + "batches of %d) took %s (%s files/s). %s", migrated, n, base.inodesUsed(), Tools.mib(oldBytes),
          Tools.mib(newBytes), base.filesCreated(), MigrationImages.FILES_PER_DIR, Stats.secs(base.buildSeconds()),
          Stats.num(base.filesCreated() / base.buildSeconds()), ext4Note));
      r.flush();
      lastRatioFloor = v / f;
      lastVde = v;
      lastCli = c;
      lastTune = ts;
      lastN = n;
      lastMigrated = migrated;
      lastBase = base.image();
    }

    // Checkpoint interval: small intervals at the smallest size, the default's neighbours at the largest.
    intervalTable(r, images, work, sizes.get(0), new int[] {100, 1000, 10_000}, 1000, a.reps);
    long largest = sizes.get(sizes.size() - 1);
    if (largest > MigrationOptions.DEFAULT_CHECKPOINT_EVERY) {
      intervalTable(r, images, work, largest, new int[] {10_000, MigrationOptions.DEFAULT_CHECKPOINT_EVERY,
          (int) largest}, MigrationOptions.DEFAULT_CHECKPOINT_EVERY, a.reps);
    }
    r.text("The copy takes a position every third of the interval N: there it waits for the sync started at the "
        + "position before, writes that position's record and starts the next sync on a thread of its own, which "
        + "runs while the copy goes on; so an interval of N costs at least three syncs per N inodes, mostly "
        + "overlapped, and a crash redoes at most N inodes (and part of one table block). Between two multiples it "
        + "also takes a position whenever the sync before has returned and half of N/3 inodes or 8 MiB of new table, "
        + "whichever is less, were copied since the last one, so a large N adds positions while the device would "
        + "otherwise idle. `records at thirds` counts the records a run writes at the multiples of N/3 (early "
        + "positions add one per 8 MiB of new table at most, as many as the device's pace allows), the final one "
        + "before the swap included; it is not a measured count. The migration also checkpoints, synchronously, "
        + "after any batch that ends a "
        + "second or more after the last position (`MigrationOptions.maxTimeBetweenCheckpoints`); at full speed "
        + "no run here lasts that long between two.");
    r.flush();

    // Heap, in a JVM limited to 64 MiB.
    r.heading("Heap");
    Path probeImage = work.resolve("heap.vde");
    Tools.copySparse(lastBase, probeImage);
    String cp = System.getProperty("java.class.path");
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    long peakPools = -1;
    long peakSampled = -1;
    String heapFailure = null;
    try {
      String outText = Tools.run(List.of(javaBin, "-Xmx64m", "-cp", cp, MigrationBench.class.getName(),
          "--heap-probe", probeImage.toString())).output();
      for (String line : outText.split("\n")) {
        if (line.startsWith("HEAP ")) {
          String[] f = line.split(" ");
          peakPools = Long.parseLong(f[1]);
          peakSampled = Long.parseLong(f[2]);
        }
      }
    } catch (IOException e) {
      heapFailure = e.getMessage();
    } finally {
      Files.deleteIfExists(probeImage);
    }
    if (heapFailure == null && peakPools >= 0) {
      r.text(String.format("A separate JVM started with `-Xmx64m` migrated the %,d-inode volume to completion. Peak "
          + "heap in use: %s by the memory pools' peak usage (sum of the heap pools' peaks, an upper bound), %s by "
          + "sampling `MemoryMXBean` every 5 ms. A 10,000,000-inode run was not made: building such a volume "
          + "(10 million file creations) takes far longer than this suite's time budget. The migration streams the "
          + "table in batches of at most %d new-table blocks (about %s of buffers) and keeps no per-inode state, "
          + "so its heap does not grow with the inode count; what does grow is the allocation bitmap held by the "
          + "engine (1 bit per block, 32 KiB per GiB of volume).", lastN, Tools.mib(peakPools),
          Tools.mib(peakSampled), 256, "2 MiB"));
      r.target("migration", "heap < 64 MiB for 10,000,000 inodes",
          String.format("%s peak at %,d inodes under -Xmx64m", Tools.mib(peakPools), lastN),
          peakPools < (64L << 20) ? "met at " + String.format("%,d", lastN) + " inodes (10M not run)" : "missed",
          "10M-inode volume not built (time budget); heap independent of inode count by design");
    } else {
      r.text("The -Xmx64m migration run failed: " + heapFailure);
      r.target("migration", "heap < 64 MiB for 10,000,000 inodes", "run under -Xmx64m failed", false,
          heapFailure);
    }
    String sizeNote = a.quick ? String.format(" (--quick: %,d inodes; 1,000,000 only in the full run)", lastN) : "";
    r.target("migration", "1,000,000 inodes in ≤ 2x the plain read+write floor",
        String.format("%s of the floor at %,d inodes", Stats.ratio(lastRatioFloor), lastMigrated),
        lastRatioFloor <= 2.0, sizeNote.strip());
    if (ext4) {
      r.target("migration", "whole `vde module add … --option migrate` process no slower than tune2fs -I",
          String.format("process %s vs tune2fs+fsync %s (%s) at %,d inodes; in-process migration %s (%s)",
              Stats.secs(lastCli), Stats.secs(lastTune), Stats.ratio(lastCli / lastTune), lastN,
              Stats.secs(lastVde), Stats.ratio(lastVde / lastTune)), lastCli <= lastTune,
          (sizeNote.strip() + " the process adds JVM start-up, class loading and opening the volume").strip());
    } else {
      r.notMeasured("migration", "whole `vde module add … --option migrate` process no slower than tune2fs -I",
          "tune2fs, mke2fs or dumpe2fs missing");
    }
    r.flush();
  }

  /** A migration and the wall time of the whole {@code InodeMigration.start} call. */
  record Timed(double seconds, MigrationResult result) {}

  /** Copies the base image, drops the page cache, opens it and times the whole migration call. */
  static Timed migrateCopy(Path base, Path work, int checkpointEvery) throws IOException {
    Tools.copySparse(base, work);
    Tools.dropCaches();
    try (VirtualDisk d = VirtualDisk.open(work)) {
      long t0 = System.nanoTime();
      MigrationResult res = InodeMigration.start(d, List.of(Module.TAGS),
          MigrationOptions.defaults().checkpointEvery(checkpointEvery));
      double secs = (System.nanoTime() - t0) / 1e9;
      if (res.cancelled() || d.volume().superblock().inodeSize() != NEW_INODE_SIZE) {
        throw new IOException("migration did not complete: " + res);
      }
      return new Timed(secs, res);
    } finally {
      Files.deleteIfExists(work);
    }
  }

  /**
   * Copies the base image, drops the page cache and times the whole command-line process
   * {@code vde module add IMAGE TAGS --option migrate --progress none} (a fresh JVM on the test class path).
   */
  static double migrateProcess(List<String> vde, Path base, Path work) throws IOException {
    Tools.copySparse(base, work);
    Tools.dropCaches();
    try {
      Tools.Result res = Tools.run(Tools.concat(vde, "module", "add", work.toString(), "TAGS", "--option", "migrate",
          "--progress", "none"));
      if (!res.output().contains("448 bytes")) {
        throw new IOException("vde module add did not report 448-byte inodes: " + res.output().strip());
      }
      return res.seconds();
    } finally {
      Files.deleteIfExists(work);
    }
  }

  /**
   * One run of the floor: drops the page cache, then reads {@code oldBytes} sequentially from {@code src} (a plain
   * file of at least that size) while writing {@code newBytes} to a new file {@code dst}, and fsyncs it; returns
   * the seconds from opening both files to the end of the fsync.
   */
  static double floorOnce(Path src, Path dst, long oldBytes, long newBytes) throws IOException {
    ByteBuffer in = ByteBuffer.allocate(CHUNK);
    byte[] outBuf = Tools.randomBytes(8, (int) Math.min(Integer.MAX_VALUE, (long) CHUNK * newBytes / oldBytes + 1));
    Files.deleteIfExists(dst);
    Tools.dropCaches();
    long t0 = System.nanoTime();
    try (FileChannel r = FileChannel.open(src, StandardOpenOption.READ);
        FileChannel w = FileChannel.open(dst, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      long read = 0;
      long written = 0;
      while (read < oldBytes || written < newBytes) {
        if (read < oldBytes) {
          in.clear();
          in.limit((int) Math.min(CHUNK, oldBytes - read));
          int n = r.read(in);
          if (n < 0) {
            throw new IOException("short floor source");
          }
          read += n;
        }
        // Writes keep pace with reads: after reading x% of the old table, x% of the new one is out.
        long due = read >= oldBytes ? newBytes : (long) ((double) read / oldBytes * newBytes);
        while (written < due) {
          int m = (int) Math.min(outBuf.length, due - written);
          ByteBuffer b = ByteBuffer.wrap(outBuf, 0, m);
          while (b.hasRemaining()) {
            written += w.write(b);
          }
        }
      }
      w.force(false);
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    Files.deleteIfExists(dst);
    return secs;
  }

  /**
   * Records a migration of {@code migrated} inodes writes while copying at {@code interval}: one per position (a
   * third of the interval from 3 up, the interval below), the first position's at the second, and the last
   * before the swap (the swap's own records not counted).
   */
  static long recordsWritten(long migrated, int interval) {
    long step = interval >= 3 ? interval / 3 : interval;
    long positions = (migrated - 1) / step; // positions strictly inside the copy
    return interval >= 3 ? Math.max(0, positions - 1) + 1 : positions + 1;
  }

  /** One checkpoint-interval table: {@code intervals} at {@code n} inodes, compared with {@code reference}. */
  private static void intervalTable(Report r, Path images, Path work, long n, int[] intervals, int reference,
      int reps) throws IOException {
    MigrationImages.Base base = MigrationImages.base(images, n);
    r.heading(String.format("Checkpoint interval (%,d inodes)", n));
    Table ct = new Table("checkpoint every", "records at thirds", "time: median (min–max)", "inodes/s",
        String.format("vs every %,d", reference));
    Stats[] ck = new Stats[intervals.length];
    long migrated = 0;
    Stats ref = null;
    for (int i = 0; i < intervals.length; i++) {
      ck[i] = new Stats();
      if (intervals[i] == reference) {
        ref = ck[i];
      }
    }
    // The intervals take turns within each repetition, the first rotating, like the methods above.
    for (int rep = 0; rep < reps; rep++) {
      for (int k = 0; k < intervals.length; k++) {
        int i = (k + rep) % intervals.length;
        Timed res = migrateCopy(base.image(), work.resolve("m.vde"), intervals[i]);
        ck[i].add(res.seconds());
        migrated = res.result().totalInodes();
      }
    }
    for (int i = 0; i < intervals.length; i++) {
      ct.row(String.format("%,d inodes%s", intervals[i],
          intervals[i] == MigrationOptions.DEFAULT_CHECKPOINT_EVERY ? " (default)" : ""),
          String.format("%,d", recordsWritten(migrated, intervals[i])), ck[i].seconds(),
          Stats.num(migrated / ck[i].median()),
          Stats.ratio(ck[i].median() / ref.median()));
    }
    r.table(ct);
  }

  /**
   * {@code tune2fs -I 512} on fresh copies of an empty ext4 image with {@code n} inodes (made once, untimed), one
   * run per {@link #once} call.
   */
  static final class Tune2fs {
    private final Path base;
    private final Path img;
    private String note = "";
    private long inodeCount = -1;

    Tune2fs(Path images, Path work, long n, long bytes) throws IOException {
      base = images.resolve("ext4-" + n + ".img");
      img = work.resolve("t.img");
      if (!Files.exists(base)) {
        Tools.time(List.of("mke2fs", "-F", "-q", "-t", "ext4", "-O", "^flex_bg,^metadata_csum", "-I", "256", "-N",
            Long.toString(n), base.toString(), Long.toString(bytes / 1024) + "k"));
      }
    }

    /** Copies the image, drops the page cache, runs tune2fs; returns its seconds and those of the fsync after. */
    double[] once() throws IOException {
      Tools.copySparse(base, img);
      Tools.dropCaches();
      try {
        double t;
        try {
          t = Tools.time(List.of("tune2fs", "-I", "512", img.toString()));
        } catch (IOException e) {
          if (!String.valueOf(e.getMessage()).contains("e2fsck")) {
            throw e;
          }
          // tune2fs asks for a fresh check first; that check is not part of the timed work, nor is the failed
          // attempt.
          Tools.time(List.of("e2fsck", "-fy", img.toString()));
          Tools.dropCaches();
          t = Tools.time(List.of("tune2fs", "-I", "512", img.toString()));
          note = "tune2fs demanded `e2fsck -f` first; it ran untimed before each tune2fs. ";
        }
        double f = Tools.fsync(img);
        if (inodeCount < 0) {
          String h = Tools.run(List.of("dumpe2fs", "-h", img.toString())).output();
          if (!h.matches("(?s).*Inode size:\\s+512.*")) {
            throw new IOException("tune2fs -I 512 did not change the inode size:\n" + h);
          }
          inodeCount = 0;
          for (String line : h.split("\n")) {
            if (line.startsWith("Inode count:")) {
              inodeCount = Long.parseLong(line.substring(12).strip());
            }
          }
        }
        return new double[] {t, f};
      } finally {
        Files.deleteIfExists(img);
      }
    }

    String note() {
      return note + String.format("The ext4 image has %,d inodes (mke2fs rounds -N up to whole groups); after "
          + "tune2fs, `dumpe2fs -h` shows 512-byte inodes.", inodeCount);
    }
  }

  /** Runs inside a -Xmx64m JVM: migrates {@code image} and prints the peak heap use. */
  static void heapProbe(Path image) throws Exception {
    List<MemoryPoolMXBean> heapPools = new ArrayList<>();
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) {
        heapPools.add(p);
      }
    }
    AtomicLong sampled = new AtomicLong();
    Thread sampler = new Thread(() -> {
      while (!Thread.currentThread().isInterrupted()) {
        sampled.accumulateAndGet(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(), Math::max);
        try {
          Thread.sleep(5);
        } catch (InterruptedException e) {
          return;
        }
      }
    });
    sampler.setDaemon(true);
    System.gc();
    heapPools.forEach(MemoryPoolMXBean::resetPeakUsage);
    sampler.start();
    MigrationResult res;
    try (VirtualDisk d = VirtualDisk.open(image)) {
      res = InodeMigration.start(d, List.of(Module.TAGS), MigrationOptions.defaults());
    }
    sampler.interrupt();
    sampler.join();
    long peak = 0;
    for (MemoryPoolMXBean p : heapPools) {
      peak += p.getPeakUsage().getUsed();
    }
    System.out.println("HEAP " + peak + " " + sampled.get() + " " + res.totalInodes());
  }
}
