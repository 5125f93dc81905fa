package dev.vde.cli;

import dev.vde.fs.FileType;
import dev.vde.fs.VirtualDisk;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code vde put}: copy a host file into the image. */
@Command(name = "put", mixinStandardHelpOptions = true,
    description = {
        "Copy a host file into the image. Missing parent directories are created; an existing file is replaced.",
        "If VDE_PATH is a directory (or ends with /), the file keeps its name inside it. HOST_FILE may be a pipe, "
            + "or '-' for standard input (then VDE_PATH must name the file)."
    })
final class PutCommand extends ImageCommand {
  private static final int BUFFER = 1 << 16;

  @Parameters(index = "1", paramLabel = "HOST_FILE|-", description = "The file to copy from the host; '-' for "
      + "standard input.")
  Path hostFile;

  @Parameters(index = "2", paramLabel = "VDE_PATH", description = "Where to store it in the image, e.g. /docs/a.txt.")
  String path;

  @Mixin
  ProgressOptions progress;

  @Override
  public Integer call() throws Exception {
    requireImage();
    boolean stdin = STDIN.equals(hostFile.toString());
    // Checked before the image is opened, so a typo in the host name changes nothing in the image.
    if (!stdin && Files.isDirectory(hostFile)) {
      throw new CliException(hostFile + ": is a directory; put copies one file");
    }
    if (!stdin && !Files.exists(hostFile)) {
      throw new CliException(hostFile + ": no such file");
    }
    // A pipe or device has no size to show progress against, and no position: the JDK's channel stream asks
    // for one (and fails with "Illegal seek"), FileInputStream does not.
    boolean regular = !stdin && Files.isRegularFile(hostFile);
    // Unknown (-1) for standard input, a pipe or a device: progress then shows no total and no ETA.
    long size = regular ? Files.size(hostFile) : -1;
    try (SourceStream source = new SourceStream(stdin ? nonClosing(System.in)
            : regular ? Files.newInputStream(hostFile) : new java.io.FileInputStream(hostFile.toFile()));
        VirtualDisk disk = openWritable();
        ProgressReporter reporter = progress.reporter(root());
        InputStream in = new MeteredInputStream(new BufferedInputStream(source, BUFFER), reporter, "writing",
            size)) {
      // Asked of VDE_PATH, not of the name it gives: a file named '-' is a name like any other.
      boolean intoDirectory = intoDirectory(disk);
      if (stdin && intoDirectory) {
        throw new CliException("with '-' (standard input), VDE_PATH must name the file, not a directory");
      }
      String normalized = VdePath.normalize(path);
      String target = intoDirectory ? VdePath.child(normalized, hostFile.getFileName().toString()) : normalized;
      String parent = VdePath.parent(target);
      String firstCreated = firstMissing(disk, parent);
      if (firstCreated != null) {
        disk.mkdirs(parent);
      }
      try {
        disk.writeFile(target, in);
      } catch (IOException | RuntimeException e) {
        removeCreatedDirectories(disk, firstCreated, e);
        if (source.failure != null) {
          // The image is fine: what failed is the file being copied, which the engine's error would not name.
          CliException named = new CliException((stdin ? "standard input" : hostFile.toString()) + ": cannot read: "
              + Failure.oneLine(String.valueOf(source.failure.getMessage())) + "; nothing was stored");
          named.initCause(e);
          throw named;
        }
        throw e;
      }
      closeAfterChange(disk);
    }
    return ExitCodes.OK;
  }

  private static final String STDIN = "-";

  /** Standard input belongs to the caller: closing the stream must not close it. */
  private static InputStream nonClosing(InputStream in) {
    return new java.io.FilterInputStream(in) {
      @Override
      public void close() {}
    };
  }

  /** The stream being copied, remembering its own read failure so that it is not taken for one of the image's. */
  private static final class SourceStream extends java.io.FilterInputStream {
    IOException failure;

    SourceStream(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      try {
        return in.read();
      } catch (IOException e) {
        failure = e;
        throw e;
      }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      try {
        return in.read(b, off, len);
      } catch (IOException e) {
        failure = e;
        throw e;
      }
    }
  }

  /** The highest directory on the way to {@code dir} that does not exist yet, or null when all do. */
  private static String firstMissing(VirtualDisk disk, String dir) throws IOException {
    String missing = null;
    for (String d = dir; !VdePath.ROOT.equals(d) && !disk.exists(d); d = VdePath.parent(d)) {
      missing = d;
    }
    return missing;
  }

  /** A put that fails (no space, say) should not leave behind the directories it made for the file. */
  private static void removeCreatedDirectories(VirtualDisk disk, String firstCreated, Exception failure) {
    if (firstCreated == null) {
      return;
    }
    try {
      disk.deleteRecursively(firstCreated);
    } catch (IOException | RuntimeException cleanup) {
      failure.addSuppressed(cleanup);
    }
  }

  /** Like cp: a path naming a directory means "into that directory, under the host file's name". */
  private boolean intoDirectory(VirtualDisk disk) throws IOException {
    String normalized = VdePath.normalize(path);
    return VdePath.namesDirectory(path) || VdePath.ROOT.equals(normalized) || isDirectory(disk, normalized);
  }

  private static boolean isDirectory(VirtualDisk disk, String path) throws IOException {
    return disk.exists(path) && disk.stat(path).type() == FileType.DIRECTORY;
  }
}
