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
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code vde get}: copy a file out of the image. */
@Command(name = "get", mixinStandardHelpOptions = true,
    description = {
        "Copy a file from the image to the host, or to standard output with '-'.",
        "An existing host file is replaced only once the whole file has been read; if HOST_FILE is a directory, "
            + "the file keeps its name inside it."
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
      FileStat stat = disk.stat(source);
      if (stat.type() != FileType.FILE) {
        throw new CliException(source + ": is a directory; get copies one file (see 'vde ls')");
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
      throws IOException {
    // Not closed: standard output belongs to the caller.
    OutputStream metered = new MeteredOutputStream(out(), reporter, "reading", size);
    disk.readFile(source, metered);
    metered.flush();
  }

  /**
   * Writes next to the destination and renames at the end, so a failed read never leaves a truncated file
   * where the user expects a complete one.
   */
  private void copyToHostFile(VirtualDisk disk, String source, long size, ProgressReporter reporter)
      throws IOException, CliException {
    Path target = Path.of(destination);
    if (Files.isDirectory(target)) {
      target = target.resolve(VdePath.name(source));
    }
    Path directory = target.toAbsolutePath().getParent();
    if (!Files.isDirectory(directory)) {
      throw new CliException(directory + ": no such directory");
    }
    // Created like any new file (not as a private temp file), so the result gets the usual permissions.
    Path partial = directory.resolve("." + target.getFileName() + "." + ProcessHandle.current().pid() + ".part");
    try {
      try (OutputStream out = new MeteredOutputStream(new BufferedOutputStream(
          Files.newOutputStream(partial, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), BUFFER),
          reporter, "reading", size)) {
        disk.readFile(source, out);
      }
      Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(partial);
    }
  }
}
