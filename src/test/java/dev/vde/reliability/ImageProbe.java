package dev.vde.reliability;

import dev.vde.Progress;
import dev.vde.VdeCorruptedException;
import dev.vde.VdeException;
import dev.vde.check.VerifyReport;
import dev.vde.fs.DirEntry;
import dev.vde.fs.FileType;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.FsModel;
import dev.vde.testing.PowerLossDevice;
import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Opens an arbitrary (damaged, fuzzed) image and uses it the way a user would: open, list every directory, read
 * every file, verify, ask for info, close. Sorts what happens into <em>signals</em> (the engine noticed: a
 * {@link VdeException}, a verify problem, an open-time warning) and <em>failures</em> (what it must never do:
 * let a raw JDK exception or error escape, hang, or allocate far more memory than the image could justify).
 *
 * <p>Reads are bounded: a damaged inode may legitimately describe a huge sparse file, so at most
 * {@link #READ_CAP} bytes of a file are read and the walk stops after {@link #ENTRY_CAP} entries or
 * {@link #DEPTH_CAP} levels, which keeps one probe's cost independent of what the image claims.
 */
final class ImageProbe {
  static final int READ_CAP = 1 << 20;
  static final int ENTRY_CAP = 10_000;
  static final int DEPTH_CAP = 64;
  /** More than any image of the corpus can justify: a probe allocating this much has an unbounded allocation. */
  static final long ALLOCATION_LIMIT = 512L << 20;
  static final long TIMEOUT_SECONDS = Long.getLong("vde.fuzz.timeoutSeconds", 10);

  /** What one probe saw. {@code tree} holds what was listed and read without error (null if open failed). */
  static final class Outcome {
    boolean opened;
    final List<String> signals = new ArrayList<>();
    final List<String> failures = new ArrayList<>();
    /** Corruption reported as some other VdeException, which the error contract reserves for other causes. */
    final List<String> misclassified = new ArrayList<>();
    FsModel tree;
    boolean readEverything = true;
    boolean verifyReported;

    boolean signalled() {
      return !signals.isEmpty();
    }

    @Override
    public String toString() {
      return "opened=" + opened + ", read everything=" + readEverything + "\n  signals: " + signals
          + "\n  failures: " + failures;
    }
  }

  private static final ExecutorService[] POOL = {newPool()};
  private static final Thread[] WORKER = {null};

  private static ExecutorService newPool() {
    return Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "image-probe");
      t.setDaemon(true);
      WORKER[0] = t;
      return t;
    });
  }

  /**
   * Stops a worker stuck in the engine. A hang found so far is a CPU loop that checks neither interruption nor
   * the device, so nothing else ends it, and left running it would take a core from every later test in this JVM.
   */
  @SuppressWarnings({"removal", "deprecation"})
  private static void stopStuckWorker(Thread t) {
    if (t != null && t.isAlive()) {
      t.stop();
    }
  }

  private ImageProbe() {}

  /**
   * Probes {@code image} in a worker thread with a time limit; a hang becomes a failure (and the stuck worker is
   * abandoned for a fresh one).
   */
  static Outcome probe(byte[] image, boolean readOnly) {
    Future<Outcome> f;
    synchronized (POOL) {
      f = POOL[0].submit(() -> probeHere(image, readOnly));
    }
    try {
      return f.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      StringBuilder where = new StringBuilder();
      synchronized (POOL) {
        Thread stuck = WORKER[0];
        if (stuck != null) {
          StackTraceElement[] st = stuck.getStackTrace();
          for (int i = 0; i < Math.min(8, st.length); i++) {
            where.append("\n    at ").append(st[i]);
          }
        }
        f.cancel(true);
        POOL[0].shutdownNow();
        stopStuckWorker(stuck);
        POOL[0] = newPool();
      }
      Outcome o = new Outcome();
      o.failures.add("hang: the probe did not finish within " + TIMEOUT_SECONDS + " s (image of " + image.length
          + " bytes); it was stuck in:" + where);
      return o;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    } catch (ExecutionException e) {
      Outcome o = new Outcome();
      o.failures.add("the probe itself threw: " + CrashCampaign.stackTrace(e.getCause()));
      return o;
    }
  }

  /** Probes in the calling thread. */
  static Outcome probeHere(byte[] image, boolean readOnly) {
    Outcome o = new Outcome();
    long allocatedBefore = allocatedBytes();
    PowerLossDevice dev = PowerLossDevice.fromImage("probed image", image);
    VirtualDisk disk;
    try {
      disk = VirtualDisk.open(dev, readOnly ? OpenOptions.readOnlyOptions() : OpenOptions.defaults());
      o.opened = true;
    } catch (Throwable t) {
      classify(o, "open", t);
      checkAllocation(o, allocatedBefore, image.length);
      return o;
    }
    try {
      o.tree = new FsModel();
      walk(disk, "/", o, 0, new int[1]);
      try {
        VerifyReport r = disk.verify(Progress.NONE);
        if (!r.clean()) {
          o.verifyReported = true;
          o.signals.add("verify: " + r.problems().size() + " problem(s), first: " + r.problems().get(0));
        }
      } catch (Throwable t) {
        classify(o, "verify", t);
      }
      try {
        List<String> w = disk.info().warnings();
        if (!w.isEmpty()) {
          o.signals.add("info warnings: " + w);
        }
      } catch (Throwable t) {
        classify(o, "info", t);
      }
    } finally {
      try {
        disk.close();
      } catch (Throwable t) {
        classify(o, "close", t);
      }
    }
    checkAllocation(o, allocatedBefore, image.length);
    return o;
  }

  private static void walk(VirtualDisk disk, String dir, Outcome o, int depth, int[] entries) {
    if (depth > DEPTH_CAP) {
      o.failures.add("directories nested deeper than " + DEPTH_CAP + " levels at " + dir
          + " without any error: a directory cycle the engine does not notice");
      return;
    }
    List<DirEntry> list;
    try {
      list = disk.list(dir);
    } catch (Throwable t) {
      classify(o, "list(" + dir + ")", t);
      o.readEverything = false;
      return;
    }
    TreeSet<String> seen = new TreeSet<>();
    for (DirEntry e : list) {
      if (++entries[0] > ENTRY_CAP) {
        o.readEverything = false;
        return;
      }
      String path = FsModel.childPrefix(dir) + e.name();
      if (!seen.add(e.name())) {
        o.signals.add("list(" + dir + ") shows " + e.name() + " twice");
        continue;
      }
      if (e.type() == FileType.DIRECTORY) {
        o.tree.mkdir(path);
        walk(disk, path, o, depth + 1, entries);
      } else {
        byte[] data = read(disk, path, e.size(), o);
        if (data != null) {
          o.tree.writeFile(path, data);
        }
      }
    }
  }

  /** Reads at most {@link #READ_CAP} bytes of a file; null (with the error classified) when a read failed. */
  private static byte[] read(VirtualDisk disk, String path, long listedSize, Outcome o) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[64 * 1024];
    long pos = 0;
    try {
      while (pos < READ_CAP) {
        int n = disk.read(path, pos, buf, 0, (int) Math.min(buf.length, READ_CAP - pos));
        if (n < 0) {
          break;
        }
        if (n == 0) {
          o.failures.add("read(" + path + ", " + pos + ") returned 0 bytes before the end of the file: a reader "
              + "looping on it would never finish");
          return null;
        }
        out.write(buf, 0, n);
        pos += n;
      }
    } catch (Throwable t) {
      classify(o, "read(" + path + " at " + pos + ")", t);
      o.readEverything = false;
      return null;
    }
    if (pos < READ_CAP && pos != listedSize) {
      o.signals.add("list says " + path + " has " + listedSize + " bytes, reading it gave " + pos);
    }
    if (pos >= READ_CAP) {
      o.readEverything = false;
    }
    return out.toByteArray();
  }

  /** A VdeException is a signal; anything else escaping the engine is a failure. */
  static void classify(Outcome o, String what, Throwable t) {
    if (t instanceof VdeCorruptedException e) {
      o.signals.add(what + ": " + e.getMessage());
    } else if (t instanceof VdeException e) {
      o.signals.add(what + ": " + e.getClass().getSimpleName() + ": " + e.getMessage());
      o.misclassified.add(what + ": " + e.getClass().getSimpleName() + ": " + e.getMessage());
    } else {
      o.failures.add(what + ": raw " + t.getClass().getName() + " escaped the engine:\n"
          + CrashCampaign.stackTrace(t));
    }
  }

  private static void checkAllocation(Outcome o, long before, int imageBytes) {
    long used = allocatedBytes() - before;
    if (before >= 0 && used > ALLOCATION_LIMIT) {
      o.failures.add("unbounded allocation: the probe allocated " + (used >> 20) + " MiB for an image of "
          + imageBytes + " bytes");
    }
  }

  /** Bytes allocated by this thread so far, or -1 where the JVM cannot tell. */
  private static long allocatedBytes() {
    if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t
        && t.isThreadAllocatedMemorySupported()) {
      return t.getThreadAllocatedBytes(Thread.currentThread().getId());
    }
    return -1;
  }
}
