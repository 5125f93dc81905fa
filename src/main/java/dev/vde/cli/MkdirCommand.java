package dev.vde.cli;

import dev.vde.fs.FileType;
import dev.vde.fs.VirtualDisk;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vde mkdir}: create a directory in the image. */
@Command(name = "mkdir", mixinStandardHelpOptions = true, description = "Create a directory in the image.")
final class MkdirCommand extends ImageCommand {
  @Parameters(index = "1", paramLabel = "VDE_PATH", description = "The directory to create, e.g. /docs/2024.")
  String path;

  @Option(names = {"-p", "--parents"},
      description = {"Create missing parent directories too, and do not fail if the directory exists.",
          "Each level is made in turn: a failure part-way (no free inodes, say) keeps the levels already made."})
  boolean parents;

  @Override
  public Integer call() throws Exception {
    String target = VdePath.normalize(path);
    try (VirtualDisk disk = openWritable()) {
      if (parents) {
        mkdirs(disk, target);
      } else {
        disk.mkdir(target);
      }
      closeAfterChange(disk);
    }
    return ExitCodes.OK;
  }

  /**
   * The engine's {@code mkdirs} makes every missing level in one transaction, which must fit in the metadata WAL:
   * a few hundred new levels did not ("split it into smaller ones"), a few dozen on a small image. Here each level
   * is its own transaction, all in one batch (one sync; a crash keeps a prefix of whole levels), so a deep path
   * costs no more WAL than one directory, and any prefix left behind is a valid tree, as mkdir -p promises.
   */
  private void mkdirs(VirtualDisk disk, String target) throws IOException, CliException {
    // Checks every name first (exists() refuses a malformed path): a name the engine refuses, one too long say,
    // fails before any level is made.
    if (disk.exists(target)) {
      // Nothing to make; the engine refuses a file there with its usual words.
      disk.mkdirs(target);
      return;
    }
    List<String> levels = levels(target);
    int existing = 0;
    while (existing < levels.size() && disk.exists(levels.get(existing))) {
      existing++;
    }
    if (existing > 0 && disk.stat(levels.get(existing - 1)).type() != FileType.DIRECTORY) {
      // A file in the way: the engine names it and the whole path, and makes nothing.
      disk.mkdirs(target);
      return;
    }
    int first = existing;
    int[] made = {0};
    try {
      disk.batch(d -> {
        for (int i = first; i < levels.size(); i++) {
          d.mkdir(levels.get(i));
          made[0]++;
        }
      });
    } catch (IOException | RuntimeException e) {
      if (made[0] == 0) {
        throw e;
      }
      Failure failure = Failure.of(e, image);
      throw CliException.printable(failure.message() + "; the " + made[0] + " of " + (levels.size() - first)
          + " new levels made before it stay, down to " + Printable.of(levels.get(first + made[0] - 1)),
          failure.exitCode());
    }
  }

  /** "/a/b/c" gives "/a", "/a/b", "/a/b/c". */
  private static List<String> levels(String target) {
    List<String> out = new ArrayList<>();
    for (int slash = target.indexOf('/', 1); slash > 0; slash = target.indexOf('/', slash + 1)) {
      out.add(target.substring(0, slash));
    }
    out.add(target);
    return out;
  }
}
