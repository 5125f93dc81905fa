package dev.vde.module.copy;

import dev.vde.VdeException;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.VdeNoSpaceException;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.BlockDevice;
import dev.vde.io.FileBlockDevice;
import dev.vde.io.HostFiles;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The destination host file of a copy: the checks made before anything is written (exists, is the source, is
 * in use, has room), its creation (sparse) and its removal when the copy fails. Only a file this copy created is
 * ever removed. A forced copy over an existing file writes a new file beside it and renames it over the old one
 * only once the copy is complete ({@link #commit}), so a failed or killed copy leaves the old file as it was.
 */
final class PathDestination {
  /** Forced copies this process started: numbers the files they write beside their destinations. */
  private static final java.util.concurrent.atomic.AtomicLong COPIES = new java.util.concurrent.atomic.AtomicLong();

  /** The destination, with symbolic links followed: a link named as the destination stays, its target is replaced. */
  private final Path path;
  private final boolean force;
  /** Where the copy is written: {@link #path}, or a file beside it when an existing one is being replaced. */
  private Path writing;
  private boolean created;

  private PathDestination(Path path, boolean force) {
    this.path = path;
    this.force = force;
  }

  /** Refuses a destination that exists (unless forced), is the source, is a directory, or has no parent. */
  static PathDestination check(VirtualDisk source, Path path, boolean force) throws IOException {
    Path parent = path.toAbsolutePath().getParent();
    if (parent == null || !Files.isDirectory(parent)) {
      throw new VdeInvalidArgumentException("cannot create " + path + ": parent directory does not exist");
    }
    if (Files.isDirectory(path)) {
      throw new VdeInvalidArgumentException(path + " is a directory; name the destination image file");
    }
    if (Files.exists(path)) {
      if (source.path() != null && Files.isSameFile(source.path(), path)) {
        throw new VdeInvalidArgumentException(path + " is the source image; copy to another file");
      }
      if (!force) {
        throw new VdeInvalidArgumentException(path + " already exists; choose another name, or force the copy to "
            + "replace it");
      }
      if (!Files.isRegularFile(path)) {
        throw new VdeInvalidArgumentException(path + " is not a regular file (a device or a pipe?); a copy only "
            + "replaces an image file");
      }
      return new PathDestination(path.toRealPath(), force);
    }
    if (Files.isSymbolicLink(path)) {
      throw new VdeInvalidArgumentException(path + " is a symbolic link to a missing file; name the file itself");
    }
    return new PathDestination(path, force);
  }

  /**
   * Fails before anything is written when the host file system lacks room for {@code bytes}. One that reports no
   * size at all (/proc, /sys, some FUSE mounts) says nothing about its room: creating the file there tells, with
   * the host's own reason, where a "no space" error would point the user at the wrong problem.
   */
  void ensureRoom(long bytes) throws IOException {
    Path parent = path.toAbsolutePath().getParent();
    java.nio.file.FileStore store = Files.getFileStore(parent);
    long usable = store.getUsableSpace();
    if (usable < bytes && store.getTotalSpace() > 0) {
      throw new VdeNoSpaceException("the copy writes " + bytes + " bytes but the host file system of " + parent
          + " has " + usable + " bytes free");
    }
  }

  /**
   * Creates the file the copy writes: the destination itself, or, when forced over an existing file that is not
   * in use, a new file beside it that {@link #commit} renames over it. The new file is sparse: only what the copy
   * writes takes space.
   */
  BlockDevice create() throws IOException {
    writing = path;
    if (force && Files.exists(path)) {
      // Taking the old file's lock first refuses a volume someone has open, which replacing would pull from
      // under them.
      FileBlockDevice.open(path, false).close();
      Path abs = path.toAbsolutePath();
      removeLeftovers(abs);
      // The process and a number of its own: two forced copies to one destination in one process must not
      // share (and delete) one file. A file of that name is what a killed process with our pid left.
      writing = abs.resolveSibling(siblingPrefix(abs) + ProcessHandle.current().pid() + "-"
          + COPIES.incrementAndGet() + ".copy");
      Files.deleteIfExists(writing);
    }
    FileBlockDevice dev = FileBlockDevice.create(writing);
    created = true;
    return dev;
  }

  /**
   * Removes what forced copies to {@code dest} that were killed left beside it ({@code .NAME.PID-N.copy}, or
   * {@code .NAME.PID.copy} from older versions, of a process that no longer runs; NAME as {@link #siblingPrefix}
   * gives it): each is an incomplete copy no
   * open accepts, often as large as the volume.
   */
  private static void removeLeftovers(Path dest) throws IOException {
    String prefix = siblingPrefix(dest);
    // A filter on the literal name, not a glob: a name with '[' or '{' in it would be read as a pattern.
    try (var siblings = Files.newDirectoryStream(dest.getParent(), p -> {
      String n = p.getFileName().toString();
      return n.startsWith(prefix) && n.endsWith(".copy") && n.length() > prefix.length() + ".copy".length();
    })) {
      for (Path p : siblings) {
        String pid = p.getFileName().toString().substring(prefix.length());
        pid = pid.substring(0, pid.length() - ".copy".length()).replaceFirst("-[0-9]{1,18}$", "");
        if (pid.matches("[0-9]{1,18}") && ProcessHandle.of(Long.parseLong(pid)).isEmpty()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  /** Bytes of a name the host file systems take: the file beside a destination must not need more. */
  private static final int NAME_MAX = 255;
  /** The most a process number, a dash, a copy number and ".copy" add to {@link #siblingPrefix}: 19 + 1 + 19 + 5. */
  private static final int SUFFIX_MAX = 44;

  /**
   * {@code .NAME.}, the start of the name of every file a forced copy to {@code dest} writes beside it. A NAME so
   * long that the whole would pass 255 bytes is cut (at a character) to what leaves room: the file beside a
   * destination of a legal name must itself be a legal name.
   */
  private static String siblingPrefix(Path dest) {
    String name = dest.getFileName().toString();
    int room = NAME_MAX - SUFFIX_MAX - 2;
    int bytes = 0;
    int end = 0;
    while (end < name.length()) {
      int cp = name.codePointAt(end);
      int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      if (bytes + n > room) {
        break;
      }
      bytes += n;
      end += Character.charCount(cp);
    }
    return "." + name.substring(0, end) + ".";
  }

  /** The file being written (valid after {@link #create}). */
  Path writing() {
    return writing;
  }

  /**
   * Puts the finished copy in place: when it replaces an existing file, renames it over that file (atomically)
   * and syncs the directory, so that after a crash the name holds either the old file or the complete copy.
   */
  void commit() throws IOException {
    if (writing == null || writing.equals(path)) {
      return;
    }
    HostFiles.keepAttributes(path, writing);
    Files.move(writing, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    created = false;
    Path dir = path.toAbsolutePath().getParent();
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // Some file systems cannot sync a directory; the rename itself has happened.
    }
  }

  /** Removes what this copy created, after a failure; quiet, since the failure is what gets reported. */
  void removePartial() {
    if (!created) {
      return;
    }
    try {
      Files.deleteIfExists(writing);
    } catch (IOException e) {
      // Left behind, it still carries the incomplete-copy mark, so no open will take it for a volume.
    }
  }

  /** True for the host file system's "no space left" error. */
  static boolean isNoSpace(Throwable e) {
    String m = e.getMessage();
    return e instanceof IOException && !(e instanceof VdeException) && m != null
        && m.contains("No space left on device");
  }

  Path path() {
    return path;
  }
}
