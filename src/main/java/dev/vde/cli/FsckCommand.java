package dev.vde.cli;

import dev.vde.fs.VirtualDisk;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code vde fsck}: check an image without changing it. */
@Command(name = "fsck", mixinStandardHelpOptions = true,
    description = {
        "Check an image for damage: checksums, superblocks, region layout, allocation, inodes, directories.",
        "The image is opened read-only and never changed. Exit code 0 when clean, 2 when problems are found, "
            + "3 when the image cannot be opened at all."
    })
final class FsckCommand extends ImageCommand {
  @Option(names = "--json", description = "Print {clean, problems: [{block, structure, message}], blocksChecked, "
      + "inodesChecked, filesChecked} as JSON.")
  boolean json;

  @Mixin
  ProgressOptions progress;

  @Override
  public Integer call() throws Exception {
    FsckReport report;
    // An image too damaged to open at all fails like any other command (exit 3, one line saying why): the
    // report below is for images the verifier could walk.
    try (VirtualDisk disk = openReadOnly(); ProgressReporter reporter = progress.reporter(root())) {
      report = FsckReport.of(disk.verify(reporter));
    }
    if (json) {
      out().println(Json.pretty(report));
    } else {
      report.lines().forEach(out()::println);
    }
    return report.clean() ? ExitCodes.OK : ExitCodes.PROBLEMS_FOUND;
  }
}
