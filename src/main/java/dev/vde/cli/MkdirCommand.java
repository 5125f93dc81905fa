package dev.vde.cli;

import dev.vde.fs.VirtualDisk;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vde mkdir}: create a directory in the image. */
@Command(name = "mkdir", mixinStandardHelpOptions = true, description = "Create a directory in the image.")
final class MkdirCommand extends ImageCommand {
  @Parameters(index = "1", paramLabel = "VDE_PATH", description = "The directory to create, e.g. /docs/2024.")
  String path;

  @Option(names = {"-p", "--parents"},
      description = "Create missing parent directories too, and do not fail if the directory exists.")
  boolean parents;

  @Override
  public Integer call() throws Exception {
    String target = VdePath.normalize(path);
    try (VirtualDisk disk = openWritable()) {
      if (parents) {
        disk.mkdirs(target);
      } else {
        disk.mkdir(target);
      }
      closeAfterChange(disk);
    }
    return ExitCodes.OK;
  }
}
