package dev.vde.testing;

import dev.vde.fs.DirEntry;
import dev.vde.fs.FileType;
import dev.vde.fs.VirtualDisk;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The expected content of a volume: every file's bytes by absolute path, and every directory (the root "/" is
 * implicit and never listed). Mutators mirror the {@link VirtualDisk} operations on valid arguments; they do not
 * model error cases, because the tests only issue operations the model says are valid.
 */
public final class FsModel {
  private final TreeMap<String, byte[]> files = new TreeMap<>();
  private final TreeSet<String> dirs = new TreeSet<>();

  public FsModel() {}

  public FsModel copy() {
    FsModel m = new FsModel();
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      m.files.put(e.getKey(), e.getValue().clone());
    }
    m.dirs.addAll(dirs);
    return m;
  }

  // ------------------------------------------------------------------------------------------------ queries

  public NavigableMap<String, byte[]> files() {
    return java.util.Collections.unmodifiableNavigableMap(files);
  }

  public java.util.NavigableSet<String> dirs() {
    return java.util.Collections.unmodifiableNavigableSet(dirs);
  }

  public boolean isFile(String path) {
    return files.containsKey(path);
  }

  public boolean isDir(String path) {
    return "/".equals(path) || dirs.contains(path);
  }

  public boolean exists(String path) {
    return isFile(path) || isDir(path);
  }

  public byte[] content(String path) {
    byte[] b = files.get(path);
    if (b == null) {
      throw new IllegalArgumentException("model has no file " + path);
    }
    return b.clone();
  }

  /** True when the directory has no children. */
  public boolean isEmptyDir(String path) {
    String prefix = childPrefix(path);
    return isDir(path) && files.keySet().stream().noneMatch(p -> p.startsWith(prefix))
        && dirs.stream().noneMatch(p -> p.startsWith(prefix));
  }

  // ------------------------------------------------------------------------------------------------ mutators

  public void mkdir(String path) {
    requireParentDir(path);
    if (exists(path)) {
      throw new IllegalArgumentException("model: " + path + " exists");
    }
    dirs.add(path);
  }

  /** Creates or replaces a file. */
  public void writeFile(String path, byte[] data) {
    requireParentDir(path);
    if (isDir(path)) {
      throw new IllegalArgumentException("model: " + path + " is a directory");
    }
    files.put(path, data.clone());
  }

  /**
   * Writes {@code data} at {@code position}; a gap past the old end reads as zeros. Writing nothing changes
   * nothing, even past the end (as POSIX write of zero bytes).
   */
  public void write(String path, long position, byte[] data) {
    byte[] old = content(path);
    if (data.length == 0) {
      return;
    }
    int end = Math.max(old.length, Math.toIntExact(position + data.length));
    byte[] b = Arrays.copyOf(old, end);
    System.arraycopy(data, 0, b, (int) position, data.length);
    files.put(path, b);
  }

  public void append(String path, byte[] data) {
    write(path, content(path).length, data);
  }

  /** Shortens or extends with zeros. */
  public void truncate(String path, long size) {
    files.put(path, Arrays.copyOf(content(path), Math.toIntExact(size)));
  }

  /** Deletes a file or an empty directory. */
  public void delete(String path) {
    if (files.remove(path) != null) {
      return;
    }
    if (!isEmptyDir(path) || "/".equals(path)) {
      throw new IllegalArgumentException("model: cannot delete " + path);
    }
    dirs.remove(path);
  }

  /** Moves a file or a directory with its whole subtree. */
  public void rename(String from, String to) {
    requireParentDir(to);
    if (exists(to)) {
      throw new IllegalArgumentException("model: rename target " + to + " exists");
    }
    if (isFile(from)) {
      files.put(to, files.remove(from));
      return;
    }
    if (!dirs.contains(from)) {
      throw new IllegalArgumentException("model: no " + from);
    }
    if (to.startsWith(childPrefix(from))) {
      throw new IllegalArgumentException("model: cannot move " + from + " into itself");
    }
    String prefix = childPrefix(from);
    TreeMap<String, byte[]> movedFiles = new TreeMap<>();
    files.entrySet().removeIf(e -> {
      if (e.getKey().startsWith(prefix)) {
        movedFiles.put(to + e.getKey().substring(from.length()), e.getValue());
        return true;
      }
      return false;
    });
    List<String> movedDirs = new ArrayList<>();
    dirs.removeIf(d -> {
      if (d.equals(from) || d.startsWith(prefix)) {
        movedDirs.add(to + d.substring(from.length()));
        return true;
      }
      return false;
    });
    files.putAll(movedFiles);
    dirs.addAll(movedDirs);
  }

  // ------------------------------------------------------------------------------------------------ reading a disk

  /**
   * Reads the whole tree of {@code disk} by listing every directory from "/" and reading every file. Checks along
   * the way that a listing's sizes agree with the bytes read, since a mismatch is itself damage.
   */
  public static FsModel readFrom(VirtualDisk disk) throws IOException {
    FsModel m = new FsModel();
    readDir(disk, "/", m, 0);
    return m;
  }

  private static void readDir(VirtualDisk disk, String dir, FsModel m, int depth) throws IOException {
    if (depth > 64) {
      throw new AssertionError("directory tree deeper than 64 levels at " + dir + ": a cycle?");
    }
    for (DirEntry e : disk.list(dir)) {
      String expectedPath = childPrefix(dir) + e.name();
      if (!expectedPath.equals(e.path())) {
        throw new AssertionError("list(" + dir + ") entry " + e.name() + " reports path " + e.path()
            + ", expected " + expectedPath);
      }
      if (m.exists(e.path())) {
        throw new AssertionError("list(" + dir + ") shows " + e.name() + " twice");
      }
      if (e.type() == FileType.DIRECTORY) {
        m.dirs.add(e.path());
        readDir(disk, e.path(), m, depth + 1);
      } else {
        byte[] data = disk.readFile(e.path());
        if (data.length != e.size()) {
          throw new AssertionError("list(" + dir + ") says " + e.path() + " has " + e.size()
              + " bytes but readFile returned " + data.length);
        }
        m.files.put(e.path(), data);
      }
    }
  }

  // ------------------------------------------------------------------------------------------------ comparing

  /** Human-readable differences from {@code expected} to this model; empty when equal. */
  public List<String> diff(FsModel expected) {
    List<String> out = new ArrayList<>();
    TreeSet<String> allDirs = new TreeSet<>(dirs);
    allDirs.addAll(expected.dirs);
    for (String d : allDirs) {
      if (!dirs.contains(d)) {
        out.add("missing directory " + d);
      } else if (!expected.dirs.contains(d)) {
        out.add("unexpected directory " + d);
      }
    }
    TreeSet<String> allFiles = new TreeSet<>(files.keySet());
    allFiles.addAll(expected.files.keySet());
    for (String f : allFiles) {
      byte[] have = files.get(f);
      byte[] want = expected.files.get(f);
      if (have == null) {
        out.add("missing file " + f + " (" + want.length + " bytes)");
      } else if (want == null) {
        out.add("unexpected file " + f + " (" + have.length + " bytes)");
      } else if (!Arrays.equals(have, want)) {
        out.add("file " + f + " differs: " + describeDifference(want, have));
      }
    }
    return out;
  }

  public boolean sameAs(FsModel other) {
    return diff(other).isEmpty();
  }

  /** "expected N bytes, found M; first difference at offset K (expected xx found yy)". */
  public static String describeDifference(byte[] expected, byte[] found) {
    int mismatch = Arrays.mismatch(expected, found);
    StringBuilder sb = new StringBuilder();
    sb.append("expected ").append(expected.length).append(" bytes, found ").append(found.length);
    if (mismatch >= 0 && mismatch < Math.min(expected.length, found.length)) {
      sb.append("; first difference at offset ").append(mismatch).append(" (expected ")
          .append(hex(expected, mismatch)).append(" found ").append(hex(found, mismatch)).append(')');
    }
    return sb.toString();
  }

  private static String hex(byte[] b, int at) {
    int end = Math.min(b.length, at + 8);
    return HexFormat.of().formatHex(b, at, end);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FsModel m && sameAs(m);
  }

  @Override
  public int hashCode() {
    int h = dirs.hashCode();
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      h = 31 * h + Objects.hash(e.getKey(), Arrays.hashCode(e.getValue()));
    }
    return h;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("{");
    for (String d : dirs) {
      sb.append(d).append("/ ");
    }
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      sb.append(e.getKey()).append('(').append(e.getValue().length).append(") ");
    }
    return sb.append('}').toString();
  }

  // ------------------------------------------------------------------------------------------------ paths

  /** "/" for the root, else "dir/". */
  public static String childPrefix(String dir) {
    return "/".equals(dir) ? "/" : dir + "/";
  }

  public static String parentOf(String path) {
    int i = path.lastIndexOf('/');
    return i <= 0 ? "/" : path.substring(0, i);
  }

  private void requireParentDir(String path) {
    String parent = parentOf(path);
    if (!isDir(parent)) {
      throw new IllegalArgumentException("model: parent of " + path + " is not a directory");
    }
  }
}
