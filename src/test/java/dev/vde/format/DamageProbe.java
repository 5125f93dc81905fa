package dev.vde.format;

import dev.vde.Progress;
import dev.vde.VdeCorruptedException;
import dev.vde.VdeException;
import dev.vde.check.VerifyReport;
import dev.vde.fs.DirEntry;
import dev.vde.fs.FileType;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.FsModel;
import dev.vde.testing.TestVolumes;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;

/**
 * Opens a (possibly damaged) image and exercises it the way a user would: open, list every directory, read every
 * file, verify, ask for info. Sorts what happens into <em>signals</em> (the engine noticed: a
 * {@link VdeCorruptedException}, a verify problem, an open-time warning) and <em>failures</em> (the engine did
 * something it must never do: throw a raw JDK exception, report damage as some other condition, or return wrong
 * content or a wrong listing without complaint).
 */
final class DamageProbe {
  /** How one access ended. */
  final List<String> signals = new ArrayList<>();
  final List<String> failures = new ArrayList<>();
  boolean opened;
  /** Paths whose content or listing came back correct. */
  int intactReads;
  /** Accesses that threw (signals or failures). */
  int failedReads;

  /** Opens with {@code opener} and checks every path of {@code expected}, continuing past each error. */
  static DamageProbe probe(Opener opener, FsModel expected) {
    DamageProbe p = new DamageProbe();
    VirtualDisk disk;
    try {
      disk = opener.open();
      p.opened = true;
    } catch (Throwable t) {
      p.classify("open", t);
      return p;
    }
    try {
      p.walk(disk, expected);
      p.verifyAndInfo(disk);
    } finally {
      TestVolumes.closeQuietly(disk);
    }
    return p;
  }

  /** Opens a disk; the probe owns and closes it. */
  @FunctionalInterface
  interface Opener {
    VirtualDisk open() throws Exception;
  }

  boolean detected() {
    return !signals.isEmpty();
  }

  void classify(String what, Throwable t) {
    failedReads++;
    if (t instanceof VdeCorruptedException e) {
      if (e.getMessage() == null || e.getMessage().isEmpty()) {
        failures.add(what + ": VdeCorruptedException with an empty message");
      } else {
        signals.add(what + ": " + e.getMessage());
      }
    } else if (t instanceof VdeException e) {
      failures.add(what + ": damage reported as " + e.getClass().getSimpleName() + " instead of VdeCorruptedException: "
          + e.getMessage());
    } else {
      failures.add(what + ": raw " + t.getClass().getName() + " escaped the engine:\n" + stackTrace(t));
    }
  }

  private void walk(VirtualDisk disk, FsModel expected) {
    List<String> dirs = new ArrayList<>();
    dirs.add("/");
    dirs.addAll(expected.dirs());
    for (String dir : dirs) {
      try {
        List<DirEntry> got = disk.list(dir);
        TreeMap<String, String> have = new TreeMap<>();
        for (DirEntry e : got) {
          have.put(e.name(), e.type() == FileType.DIRECTORY ? "dir" : "file " + e.size());
        }
        TreeMap<String, String> want = childrenOf(expected, dir);
        if (!have.equals(want)) {
          failures.add("list(" + dir + ") silently returned " + have + ", expected " + want);
        } else {
          intactReads++;
        }
      } catch (Throwable t) {
        classify("list(" + dir + ")", t);
      }
    }
    for (var f : expected.files().entrySet()) {
      try {
        byte[] got = disk.readFile(f.getKey());
        if (!Arrays.equals(got, f.getValue())) {
          failures.add("readFile(" + f.getKey() + ") silently returned wrong content: "
              + FsModel.describeDifference(f.getValue(), got));
        } else {
          intactReads++;
        }
      } catch (Throwable t) {
        classify("readFile(" + f.getKey() + ")", t);
      }
    }
  }

  private void verifyAndInfo(VirtualDisk disk) {
    try {
      VerifyReport r = disk.verify(Progress.NONE);
      if (!r.clean()) {
        signals.add("verify: " + TestVolumes.describe(r.problems()));
      }
    } catch (Throwable t) {
      classify("verify", t);
    }
    try {
      List<String> warnings = disk.info().warnings();
      if (!warnings.isEmpty()) {
        signals.add("info warnings: " + warnings);
      }
    } catch (Throwable t) {
      classify("info", t);
    }
  }

  static TreeMap<String, String> childrenOf(FsModel m, String dir) {
    TreeMap<String, String> out = new TreeMap<>();
    String prefix = FsModel.childPrefix(dir);
    for (String d : m.dirs()) {
      if (FsModel.parentOf(d).equals(dir) && d.startsWith(prefix)) {
        out.put(d.substring(prefix.length()), "dir");
      }
    }
    for (var f : m.files().entrySet()) {
      if (FsModel.parentOf(f.getKey()).equals(dir)) {
        out.put(f.getKey().substring(prefix.length()), "file " + f.getValue().length);
      }
    }
    return out;
  }

  static String stackTrace(Throwable t) {
    StringWriter w = new StringWriter();
    t.printStackTrace(new PrintWriter(w));
    String[] lines = w.toString().split("\n");
    return String.join("\n", Arrays.copyOf(lines, Math.min(lines.length, 12)));
  }

  @Override
  public String toString() {
    return "opened=" + opened + ", intact reads=" + intactReads + ", failed reads=" + failedReads + "\n  signals: "
        + signals + "\n  failures: " + failures;
  }
}
