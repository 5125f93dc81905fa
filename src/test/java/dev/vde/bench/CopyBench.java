package dev.vde.bench;

import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.copy.CopyOptions;
import dev.vde.module.copy.CopyResult;
import dev.vde.module.copy.ExtentAwareCopy;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Scenario 2: copying a volume that is mostly free space, in a dense host file (every block of the image was
 * written at some time, so the host file has no holes and a naive copy must move all of it). vde's extent-aware
 * copy against {@code cp --sparse=never} of the image, {@code cp} of a plain file as big as the live data (the
 * floor), {@code e2image -ra} of an ext4 image holding the same live data, and {@code qemu-img convert}.
 */
public final class CopyBench {
  private static final double[] FRACTIONS = {0.50, 0.10, 0.01};

  private CopyBench() {}

  record Image(Path path, List<Integer> files, long fileSize) {
    long liveBytes() {
      return files.size() * fileSize;
    }
  }

  public static void main(String[] argv) throws Exception {
    BenchArgs a = BenchArgs.parse(argv, 3, 1);
    long volume = a.quick ? 512L << 20 : 4L << 30;
    long fileSize = a.quick ? 4L << 20 : 16L << 20;
    Report r = new Report(a.out, "20-copy", "2. Extent-aware copy of a mostly empty, dense volume");
    boolean hasExt4 = Tools.which("mke2fs") != null && Tools.which("debugfs") != null
        && Tools.which("e2image") != null && Tools.which("dumpe2fs") != null;
    boolean hasQemu = Tools.which("qemu-img") != null;
    boolean drop = Tools.canDropCaches();
    Path w = a.work;
    Tools.deleteTree(w);
    Files.createDirectories(w);

    long t0 = System.nanoTime();
    Image vde = buildVde(w.resolve("src.vde"), volume, fileSize);
    double vdeBuild = (System.nanoTime() - t0) / 1e9;
    Image ext4 = null;
    double ext4Build = 0;
    if (hasExt4) {
      t0 = System.nanoTime();
      ext4 = buildExt4(w, w.resolve("src-ext4.img"), volume, fileSize);
      ext4Build = (System.nanoTime() - t0) / 1e9;
    }
    r.text(String.format("The vde source is a %s volume filled with %s files (%d of them, written with "
        + "`writeFile`), of which all but the live fraction are then deleted, keeping files spread evenly over the "
        + "volume; the fractions are taken in the order 50%%, 10%%, 1%% from the same image, each a subset of the "
        + "previous one. Remaining holes in the host file (metadata never written) are allocated with `fallocate`, "
        + "so `stat` shows the whole image allocated (table below). The ext4 image is made the same way: `mke2fs "
        + "-t ext4` of the same size, filled with `debugfs -w -R \"write ...\"`, then files removed with `debugfs "
        + "rm`. Building took %s (vde) and %s (ext4). "
        + "vde copy runs as the command a user types, `vde copy SOURCE DEST --progress none`, through %s, and "
        + "is also timed in-process as `ExtentAwareCopy.copy(source, destination, CopyOptions.defaults())` "
        + "(it opens the source read-only, plans, copies and syncs the destination); the targets are judged on "
        + "the command. Every method that runs as a process has an fsync of "
        + "the destination added to its time, so that all of them are durable. %s Repetitions: %d for vde, the cp "
        + "floor and e2image (at least 5 at 10%% and 1%% in a full run), which take turns within each repetition, the "
        + "first rotating; cp --sparse=never and qemu-img (which move the whole image whatever the fraction) "
        + "run once per fraction, after them.", Tools.gib(volume), Tools.mib(fileSize), vde.files().size(),
        Stats.secs(vdeBuild), hasExt4 ? Stats.secs(ext4Build) : "n/a (e2fsprogs missing)",
        Tools.describeVdeCommand(a),
        drop ? "The page cache is dropped before every timed copy, so sources are read from the device."
            : "The page cache could not be dropped, so sources may be cached.", a.reps));
    if (!hasExt4) {
      r.text("e2image / mke2fs / debugfs: missing, so the ext4 comparison was not run.");
    }
    if (!hasQemu) {
      r.text("qemu-img: missing (qemu-utils not installed), so that comparison was not run.");
    }
    Table dense = new Table("image", "apparent size", "allocated (stat %b × %B)", "allocated / apparent");
    for (Path p : hasExt4 ? List.of(vde.path(), ext4.path()) : List.of(vde.path())) {
      long size = Files.size(p);
      long alloc = Tools.allocatedBytes(p);
      dense.row(p.getFileName(), Tools.mib(size), Tools.mib(alloc), String.format("%.1f%%", 100.0 * alloc / size));
    }
    r.heading("Source images");
    r.table(dense);
    r.flush();

    Path live = w.resolve("live.bin");
    Path dst = w.resolve("dst");
    List<String> fractionNames = new ArrayList<>();
    List<Double> vsFloor = new ArrayList<>();
    List<Double> vsFloorInProcess = new ArrayList<>();
    List<String> vdeCmd = Tools.vdeCommand(a);
    List<Double> vsNever = new ArrayList<>();
    List<Double> vsE2image = new ArrayList<>();
    byte[] pattern = Tools.randomBytes(11, 8 << 20);
    boolean liveCreated = false;
    for (double frac : FRACTIONS) {
      int keep = (int) Math.max(1, Math.round(frac * volume / fileSize));
      vde = keep(vde, keep);
      if (hasExt4) {
        ext4 = keepExt4(ext4, keep);
      }
      long liveBytes = vde.liveBytes();
      // The floor's plain file: written once at the largest fraction, then cut down.
      if (!liveCreated) {
        Tools.writePlain(live, liveBytes, pattern);
        liveCreated = true;
      } else {
        try (FileChannel ch = FileChannel.open(live, StandardOpenOption.WRITE)) {
          ch.truncate(liveBytes);
          ch.force(true);
        }
      }
      Stats vdeT = new Stats();
      Stats vdeP = new Stats();
      Stats floorT = new Stats();
      Stats e2T = new Stats();
      Stats neverT = new Stats();
      Stats qemuT = new Stats();
      CopyResult last = null;
      // The small fractions are cheap, so they get more repetitions against the host's noise.
      int reps = a.quick || frac >= 0.5 ? a.reps : Math.max(a.reps, 5);
      // The methods take turns within each repetition and the first rotates, so that neither a drift in the
      // host's speed nor the position after a given method favours one of them.
      for (int rep = 0; rep < reps; rep++) {
        for (int k = 0; k < 4; k++) {
          switch ((k + rep) % 4) {
            case 0 -> {
              Files.deleteIfExists(dst);
              Tools.dropCaches();
              long c0 = System.nanoTime();
              last = ExtentAwareCopy.copy(vde.path(), dst, CopyOptions.defaults());
              vdeT.add((System.nanoTime() - c0) / 1e9);
              Files.deleteIfExists(dst);
            }
            case 1 -> vdeP.add(peer(Tools.concat(vdeCmd, "copy", vde.path().toString(), dst.toString(),
                "--progress", "none"), dst));
            case 2 -> floorT.add(peer(List.of("cp", live.toString(), dst.toString()), dst));
            default -> {
              if (hasExt4) {
                e2T.add(peer(List.of("e2image", "-ra", ext4.path().toString(), dst.toString()), dst));
              }
            }
          }
        }
      }
      neverT.add(peer(List.of("cp", "--sparse=never", vde.path().toString(), dst.toString()), dst));
      if (hasQemu) {
        qemuT.add(peer(List.of("qemu-img", "convert", "-f", "raw", "-O", "raw", vde.path().toString(),
            dst.toString()), dst));
      }
      String fname = String.format("%.0f%% live", frac * 100);
      r.heading(String.format("%s: %d file%s, %s of live data", fname, vde.files().size(),
          vde.files().size() == 1 ? "" : "s", Tools.mib(liveBytes)));
      double v = vdeP.median();
      double vIn = vdeT.median();
      double f = floorT.median();
      Table t = new Table("method", "moves", "time: median (min–max)", "live data MiB/s", "vs cp floor",
          "vde speed-up over it");
      t.row("vde copy (the command, whole process)", Tools.mib(last.bytesCopied()) + " data blocks", vdeP.seconds(),
          Stats.num(liveBytes / v / (1 << 20)), Stats.ratio(v / f), "1x");
      t.row("vde copy (ExtentAwareCopy, in-process)", Tools.mib(last.bytesCopied()) + " data blocks", vdeT.seconds(),
          Stats.num(liveBytes / vIn / (1 << 20)), Stats.ratio(vIn / f), Stats.ratio(vIn / v));
      t.row("cp of a plain file of the live size (floor)", Tools.mib(liveBytes), floorT.seconds(),
          Stats.num(liveBytes / f / (1 << 20)), "1x", Stats.ratio(f / v));
      if (hasExt4) {
        t.row("e2image -ra (ext4, same live data)", Tools.mib(ext4.liveBytes()) + " + metadata", e2T.seconds(),
            Stats.num(liveBytes / e2T.median() / (1 << 20)), Stats.ratio(e2T.median() / f),
            Stats.ratio(e2T.median() / v));
      } else {
        t.row("e2image -ra", "missing", "", "", "", "");
      }
      t.row("cp --sparse=never of the image", Tools.mib(Files.size(vde.path())), neverT.seconds(),
          Stats.num(liveBytes / neverT.median() / (1 << 20)), Stats.ratio(neverT.median() / f),
          Stats.ratio(neverT.median() / v));
      if (hasQemu) {
        t.row("qemu-img convert -f raw -O raw", Tools.mib(Files.size(vde.path())), qemuT.seconds(),
            Stats.num(liveBytes / qemuT.median() / (1 << 20)), Stats.ratio(qemuT.median() / f),
            Stats.ratio(qemuT.median() / v));
      } else {
        t.row("qemu-img convert", "missing", "", "", "", "");
      }
      r.table(t);
      r.text(String.format("vde copied %,d of %,d blocks (%,d inodes, %d relocated; writers paused %d ms in the "
          + "last run).", last.blocksCopied(), last.totalBlocks(), last.inodesCopied(), last.blocksRelocated(),
          last.pauseMillis()));
      r.flush();
      fractionNames.add(fname);
      vsFloor.add(v / f);
      vsFloorInProcess.add(vIn / f);
      vsNever.add(neverT.median() / v);
      vsE2image.add(hasExt4 ? v / e2T.median() : Double.NaN);
      Files.deleteIfExists(dst);
    }
    // Start-up alone, for what separates the command from the in-process figure.
    // The command rows start after the page cache was dropped, so the start-up is measured that way too (the JVM's
    // own files are then read from the device); with the cache warm for comparison.
    Stats jvm = new Stats();
    Stats jvmWarm = new Stats();
    String jvmNote;
    try {
      for (int i = 0; i < 3; i++) {
        Tools.dropCaches();
        jvm.add(Tools.time(Tools.concat(vdeCmd, "--version")));
        jvmWarm.add(Tools.time(Tools.concat(vdeCmd, "--version")));
      }
      jvmNote = "Starting the tool (`vde --version`, the same launcher) takes " + jvm.seconds()
          + (drop ? " with the page cache dropped first, as before each command row, and " + jvmWarm.seconds()
              + " right after, with it warm" : "")
          + ": part of what separates the command from the in-process times above.";
    } catch (IOException e) {
      jvmNote = "The CLI start-up could not be measured: " + e.getMessage();
    }
    r.text(jvmNote);

    r.target("copy", "vde copy ≤ 1.25x cp of the live data (whole processes)", describe(fractionNames, vsFloor, "x"),
        status(fractionNames, vsFloor, x -> x <= 1.25), "in-process (no JVM start-up): "
            + describe(fractionNames, vsFloorInProcess, "x"));
    r.target("copy", "vde copy ≥ 8x faster than cp --sparse=never", describe(fractionNames, vsNever, "x faster"),
        status(fractionNames, vsNever, x -> x >= 8), "at 50% live the image holds only 2x the live data, so 8x "
            + "cannot be reached there by any copy that moves the live data");
    if (hasExt4) {
      r.target("copy", "vde copy within 1.5x of e2image -ra", describe(fractionNames, vsE2image, "x"),
          status(fractionNames, vsE2image, x -> x <= 1.5), "");
    } else {
      r.notMeasured("copy", "vde copy within 1.5x of e2image -ra", "e2image missing");
    }
    r.flush();
    Tools.deleteTree(w);
  }

  private static String describe(List<String> names, List<Double> vals, String unit) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < names.size(); i++) {
      b.append(i == 0 ? "" : "; ").append(names.get(i)).append(": ").append(Stats.num(vals.get(i))).append(unit);
    }
    return b.toString();
  }

  private static String status(List<String> names, List<Double> vals, java.util.function.DoublePredicate ok) {
    List<String> met = new ArrayList<>();
    List<String> missed = new ArrayList<>();
    for (int i = 0; i < names.size(); i++) {
      (ok.test(vals.get(i)) ? met : missed).add(names.get(i));
    }
    if (missed.isEmpty()) {
      return "met";
    }
    if (met.isEmpty()) {
      return "missed";
    }
    return "met at " + String.join(", ", met) + "; missed at " + String.join(", ", missed);
  }

  /** Drops the cache, runs a peer tool writing {@code dst}, fsyncs {@code dst}; returns the total seconds. */
  private static double peer(List<String> cmd, Path dst) throws IOException {
    Files.deleteIfExists(dst);
    Tools.dropCaches();
    double t = Tools.time(cmd);
    t += Tools.fsync(dst);
    Files.deleteIfExists(dst);
    return t;
  }

  // ------------------------------------------------------------------ sources

  private static Image buildVde(Path img, long volume, long fileSize) throws IOException {
    byte[] data = Tools.randomBytes(1, (int) fileSize);
    List<Integer> files = new ArrayList<>();
    try (VirtualDisk d = VirtualDisk.create(img, CreateOptions.ofSize(volume))) {
      long payload = d.volume().payload();
      long perFile = (fileSize + payload - 1) / payload + 1;
      int i = 0;
      while (d.info().freeBlocks() > perFile + 64) {
        data[0] = (byte) i;
        data[1] = (byte) (i >> 8);
        d.writeFile(name(i), data);
        files.add(i++);
      }
    }
    densify(img);
    return new Image(img, files, fileSize);
  }

  private static Image keep(Image img, int count) throws IOException {
    List<Integer> kept = spread(img.files(), count);
    try (VirtualDisk d = VirtualDisk.open(img.path())) {
      d.batch(x -> {
        for (int f : img.files()) {
          if (!kept.contains(f)) {
            x.delete(name(f));
          }
        }
      });
    }
    return new Image(img.path(), kept, img.fileSize());
  }

  /** {@code count} elements of {@code from}, evenly spread. */
  private static List<Integer> spread(List<Integer> from, int count) {
    List<Integer> out = new ArrayList<>();
    int n = Math.min(count, from.size());
    for (int j = 0; j < n; j++) {
      out.add(from.get((int) ((long) j * from.size() / n)));
    }
    return out;
  }

  private static String name(int i) {
    return String.format("/f%05d", i);
  }

  private static Image buildExt4(Path w, Path img, long volume, long fileSize) throws IOException {
    Tools.time(List.of("mke2fs", "-F", "-q", "-t", "ext4", img.toString(), (volume / 1024) + "k"));
    Path chunk = w.resolve("chunk.bin");
    Tools.writePlain(chunk, fileSize, Tools.randomBytes(2, (int) fileSize));
    long free = freeBytes(img);
    int count = (int) (free / fileSize) - 1;
    Path cmds = w.resolve("debugfs-write.txt");
    List<Integer> files = new ArrayList<>();
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < count; i++) {
      b.append("write ").append(chunk).append(' ').append(name(i).substring(1)).append('\n');
      files.add(i);
    }
    Files.writeString(cmds, b.toString());
    Tools.time(List.of("debugfs", "-w", "-f", cmds.toString(), img.toString()));
    Files.deleteIfExists(chunk);
    densify(img);
    return new Image(img, files, fileSize);
  }

  private static Image keepExt4(Image img, int count) throws IOException {
    List<Integer> kept = spread(img.files(), count);
    StringBuilder b = new StringBuilder();
    for (int f : img.files()) {
      if (!kept.contains(f)) {
        b.append("rm ").append(name(f).substring(1)).append('\n');
      }
    }
    Path cmds = img.path().resolveSibling("debugfs-rm.txt");
    Files.writeString(cmds, b.toString());
    Tools.time(List.of("debugfs", "-w", "-f", cmds.toString(), img.path().toString()));
    return new Image(img.path(), kept, img.fileSize());
  }

  private static long freeBytes(Path img) throws IOException {
    String h = Tools.run(List.of("dumpe2fs", "-h", img.toString())).output();
    long free = 0;
    long bs = 0;
    for (String line : h.split("\n")) {
      if (line.startsWith("Free blocks:")) {
        free = Long.parseLong(line.substring(12).strip());
      } else if (line.startsWith("Block size:")) {
        bs = Long.parseLong(line.substring(11).strip());
      }
    }
    return free * bs;
  }

  /** Allocates every hole of a host file, so a naive copy has to read all of it. */
  private static void densify(Path img) throws IOException {
    if (Tools.which("fallocate") != null) {
      Tools.time(List.of("fallocate", "-l", Long.toString(Files.size(img)), img.toString()));
    } else {
      Path tmp = img.resolveSibling(img.getFileName() + ".dense");
      Tools.time(List.of("cp", "--sparse=never", img.toString(), tmp.toString()));
      Files.move(tmp, img, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
  }
}
