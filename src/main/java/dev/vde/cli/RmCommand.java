package dev.vde.cli;

import dev.vde.fs.FileType;
import dev.vde.fs.VirtualDisk;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vde rm}: remove a file or directory from the image. */
@Command(name = "rm", mixinStandardHelpOptions = true,
    description = "Remove a file or an empty directory from the image; with -r, a directory and everything in it.")
final class RmCommand extends ImageCommand {
  @Parameters(index = "1", paramLabel = "VDE_PATH", description = "The file or directory to remove.")
  String path;

  @Option(names = {"-r", "--recursive"}, description = "Remove a directory with everything below it.")
  boolean recursive;

  @Override
  public Integer call() throws Exception {
    String target = VdePath.normalize(path);
    if (VdePath.ROOT.equals(target)) {
      throw inImage("refusing to remove the root directory; create a new image to start empty");
    }
    try (VirtualDisk disk = openWritable()) {
      boolean directory = disk.stat(VdePath.absolute(path)).type() == FileType.DIRECTORY;
      if (directory && !recursive && !disk.list(target).isEmpty()) {
        throw inImage(target + ": directory is not empty; use 'vde rm -r' to remove it with everything"
            + " in it");
      }
      if (directory && recursive) {
        // One batch: the tree costs one sync instead of one per entry (200,000 entries took minutes). The tool
        // holds the image alone, so no other writer waits behind it; a crash keeps a prefix of whole deletes,
        // children before their directory, as it would without the batch.
        disk.batch(d -> d.deleteRecursively(target));
      } else {
        disk.delete(target);
      }
      closeAfterChange(disk);
    }
    return ExitCodes.OK;
  }
}
