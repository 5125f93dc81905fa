package dev.vde.cli;

import dev.vde.fs.FileStat;
import dev.vde.fs.FileType;
import dev.vde.fs.VirtualDisk;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import dev.vde.io.FileBlockDevice;
import dev.vde.io.HostFiles;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code vde get}: copy a file out of the image. */
@Command(name = "get", mixinStandardHelpOptions = true,
    description = {
        "Copy a file from the image to the host, or to standard output with '-'.",
        "An existing host file is replaced only once the whole file has been read, keeping its permissions; if "
            + "HOST_FILE is a directory, the file keeps its name inside it. A symbolic link is followed (its target "
            + "is replaced), a device or pipe is written to, not replaced, and /dev/stdout is standard output. The "
            + "image itself, or a file another process holds locked (an image open elsewhere), is refused."
    })
final class GetCommand extends ImageCommand {
  private static final String STDOUT = "-";
  private static final int BUFFER = 1 << 16;

  @Parameters(index = "1", paramLabel = "VDE_PATH", description = "The file in the image, e.g. /docs/a.txt.")
  String path;

  @Parameters(index = "2", paramLabel = "HOST_FILE|-", description = "Where to write it; '-' for standard output.")
  String destination;

  @Mixin
  ProgressOptions progress;

  @Override
  public Integer call() throws Exception {
    String source = VdePath.normalize(path);
    try (VirtualDisk disk = openReadOnly(); ProgressReporter reporter = progress.reporter(root())) {
      FileStat stat = disk.stat(VdePath.absolute(path));
      if (stat.type() != FileType.FILE) {
        throw inImage(source + ": is a directory; get copies one file (see 'vde ls')");
      }
      if (STDOUT.equals(destination)) {
        copyToStdout(disk, source, stat.size(), reporter);
      } else {
        copyToHostFile(disk, source, stat.size(), reporter);
      }
    }
    return ExitCodes.OK;
  }

  private void copyToStdout(VirtualDisk disk, String source, long size, ProgressReporter reporter)
      throws IOException, CliException {
    // Not closed: standard output belongs to the caller.
    OutputStream metered = new MeteredOutputStream(new Checked(out()), reporter, "reading", size);
    try {
      disk.readFile(source, metered);
      metered.flush();
    } catch (Checked.Lost e) {
      throw new CliException("cannot write standard output; what it shows is incomplete");
    }
  }

  /**
   * Standard output that fails when it cannot be written. A {@link java.io.PrintStream} keeps its write errors to
   * itself, so a reader that went away (a closed pipe) would have the whole file read into a stream that drops it;
   * this stops the read at the next write instead.
   */
  private static final class Checked extends java.io.FilterOutputStream {
    static final class Lost extends IOException {
      private static final long serialVersionUID = 1L;

      Lost() {
        super("cannot write standard output");
      }
    }

    private final java.io.PrintStream ps;

    Checked(java.io.PrintStream ps) {
      super(ps);
      this.ps = ps;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      ps.write(b, off, len);
      // checkError also flushes; the stream is written in pieces of tens of kilobytes or more.
      if (ps.checkError()) {
        throw new Lost();
      }
    }

    @Override
    public void flush() throws IOException {
      if (ps.checkError()) {
        throw new Lost();
      }
    }
  }

  /**
   * Writes next to the destination and renames at the end, so a failed read never leaves a truncated file
   * where the user expects a complete one. What is at the destination decides how: a regular file is replaced
   * (keeping its permissions, and its owner where allowed) unless it is the image or locked by another process;
   * a symbolic link is followed by the file system itself; a device, pipe or this process's own standard output
   * is written to in place, since replacing it would put a regular file where it was.
   */
  private void copyToHostFile(VirtualDisk disk, String source, long size, ProgressReporter reporter)
      throws IOException, CliException {
    if (STDOUT_NAMES.contains(destination)) {
      copyToStdout(disk, source, size, reporter);
      return;
    }
    Path target = Path.of(destination);
    if (Files.isDirectory(target)) {
      target = target.resolve(VdePath.name(source));
    } else if (destination.endsWith("/")) {
      throw new CliException(destination + (Files.exists(target) ? ": not a directory" : ": no such directory"));
    }
    if (Files.exists(target)) {
      // Followed by the file system, as any program opening the name would: no guessing from link texts.
      if (Files.isSameFile(target, image)) {
        throw new CliException(target + " is the image being read; not replaced");
      }
      BasicFileAttributes a = Files.readAttributes(target, BasicFileAttributes.class);
      if (a.isDirectory()) {
        throw new CliException(target + " is a directory; not replaced");
      }
      if (!a.isRegularFile() || isDescriptorName(target)
          || target.toAbsolutePath().normalize().startsWith("/proc")) {
        // A device, a pipe, or a descriptor's name: written in place, as a shell redirection would.
        writeTo(Files.newOutputStream(target, StandardOpenOption.WRITE, StandardOpenOption.APPEND), target, disk,
            source, size, reporter);
        return;
      }
      target = target.toRealPath();
      refuseIfInUse(target);
    } else if (Files.isSymbolicLink(target)) {
      throw new CliException(target + " is a symbolic link to a missing file; name the file itself");
    }
    Path directory = target.toAbsolutePath().getParent();
    if (!Files.isDirectory(directory)) {
      throw new CliException(directory + (Files.exists(directory) ? ": not a directory" : ": no such directory"));
    }
    // Created like any new file (not as a private temp file), so the result gets the usual permissions.
    Path partial = directory.resolve("." + ProcessHandle.current().pid() + "." + Long.toHexString(System.nanoTime())
        + ".vde-get.part");
    // Also gone if the process is stopped (Ctrl-C) while it writes; after the rename this finds nothing.
    partial.toFile().deleteOnExit();
    boolean created = false;
    try {
      OutputStream file;
      try {
        file = Files.newOutputStream(partial, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
      } catch (java.nio.file.FileSystemException e) {
        // The host's error names the hidden partial file, a name the user never typed: say which file could not
        // be written, and why (a folder without write permission, a read-only file system).
        throw new CliException(target + ": cannot write: " + cannotCreateIn(directory, e));
      }
      created = true;
      // Before a byte is written: a private file's new content must not lie readable by others while it copies.
      try {
        HostFiles.keepAttributes(target, partial);
      } catch (IOException | RuntimeException e) {
        file.close();
        throw e;
      }
      writeTo(file, target, disk, source, size, reporter);
      Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      if (created) {
        Files.deleteIfExists(partial);
      }
    }
  }

  /** Why no file can be created in {@code directory}, worded like {@link Failure} words host errors. */
  private static String cannotCreateIn(Path directory, java.nio.file.FileSystemException e) {
    String why = e instanceof java.nio.file.AccessDeniedException ? "permission denied"
        : e.getReason() == null || e.getReason().isBlank() ? "input/output error" : e.getReason();
    return "no new file can be created in " + directory + " (" + why + ")";
  }

  /**
   * Whether {@code p} names an open descriptor ({@code /dev/fd/3}, {@code /dev/stderr}), which reaches whatever the
   * descriptor is open on, a regular file too: that is written to, as a shell redirection would. Not every name
   * under /dev: /dev/shm holds ordinary files, which are replaced like any other.
   */
  private static boolean isDescriptorName(Path p) {
    Path abs = p.toAbsolutePath().normalize();
    return abs.startsWith("/dev/fd") || abs.equals(Path.of("/dev/stdout")) || abs.equals(Path.of("/dev/stderr"));
  }

  /** Names of this process's standard output: writing to them means writing to it, not replacing a file. */
  private static final Set<String> STDOUT_NAMES = Set.of("/dev/stdout", "/dev/fd/1", "/proc/self/fd/1");

  /**
   * Streams the file into {@code file} (buffered, metered) and closes it. A failure to write {@code target} (a
   * full disk, say) is reported naming it: the image was only read.
   */
  private static void writeTo(OutputStream file, Path target, VirtualDisk disk, String source, long size,
      ProgressReporter reporter) throws IOException, CliException {
    TargetStream dest = new TargetStream(file);
    try (OutputStream out = new MeteredOutputStream(new BufferedOutputStream(dest, BUFFER), reporter, "reading",
        size)) {
      disk.readFile(source, out);
    } catch (IOException e) {
      if (dest.failure != null) {
        throw new CliException(target + ": cannot write: " + Failure.oneLine(String.valueOf(
            dest.failure.getMessage())));
      }
      throw e;
    }
  }

  /** The destination stream, remembering its own failure so that it is not taken for one of the image's. */
  private static final class TargetStream extends java.io.FilterOutputStream {
    IOException failure;

    TargetStream(OutputStream out) {
      super(out);
    }

    /** One call on the destination, its failure noted. */
    private interface Call {
      void run() throws IOException;
    }

    private void noting(Call call) throws IOException {
      try {
        call.run();
      } catch (IOException e) {
        failure = e;
        throw e;
      }
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      noting(() -> out.write(b, off, len));
    }

    @Override
    public void write(int b) throws IOException {
      noting(() -> out.write(b));
    }

    @Override
    public void flush() throws IOException {
      noting(out::flush);
    }

    @Override
    public void close() throws IOException {
      noting(out::close);
    }
  }

  /**
   * Refuses a file that an engine has open, in this process or another, even read-only: the check a forced copy
   * makes of its destination, through the same registry and lock, so it never unlocks this process's own volumes.
   */
  private static void refuseIfInUse(Path p) throws IOException, CliException {
    try {
      FileBlockDevice.open(p, false).close();
    } catch (dev.vde.VdeLockedException e) {
      throw new CliException(p + " is in use: another process or engine holds it open (an image?); not replaced");
    } catch (java.nio.file.AccessDeniedException e) {
      // Not writable here: the rename decides whether it may be replaced.
    }
  }
}
