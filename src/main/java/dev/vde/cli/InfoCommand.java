package dev.vde.cli;

import dev.vde.fs.VirtualDisk;
import dev.vde.fs.VolumeInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vde info}: the vital figures of an image. */
@Command(name = "info", mixinStandardHelpOptions = true,
    description = "Show an image's format version, capacity, free space, inodes, modules and region layout.")
final class InfoCommand extends ImageCommand {
  @Option(names = "--json", description = "Print one JSON object instead of text.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    VolumeInfo info;
    try (VirtualDisk disk = openReadOnly()) {
      info = ReadOnlyView.volumeInfo(disk, image);
    }
    if (json) {
      out().println(Json.pretty(VolumeInfoJson.of(info)));
    } else {
      VolumeInfoText.lines(info).forEach(out()::println);
    }
    return ExitCodes.OK;
  }
}
