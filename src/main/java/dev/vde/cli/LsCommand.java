package dev.vde.cli;

import dev.vde.VdeCorruptedException;
import dev.vde.fs.VirtualDisk;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vde ls}: list a directory of the image. */
@Command(name = "ls", mixinStandardHelpOptions = true,
    description = "List a directory of the image (or show one file): type, size in bytes, path.")
final class LsCommand extends ImageCommand {
  @Parameters(index = "1", arity = "0..1", paramLabel = "VDE_PATH", defaultValue = VdePath.ROOT,
      description = "Directory or file inside the image. Default: the root, /.")
  String path;

  @Option(names = {"-R", "--recursive"}, description = "List everything below the directory too.")
  boolean recursive;

  @Option(names = "--json", description = "Print a JSON array of {path, type, size} instead of text.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    List<Listing.Item> items;
    List<VdeCorruptedException> unreadable = new ArrayList<>();
    try (VirtualDisk disk = openReadOnly()) {
      items = Listing.of(disk, VdePath.absolute(path), recursive, unreadable);
    }
    if (json) {
      out().println(Json.pretty(items));
    } else {
      Listing.text(items).forEach(out()::println);
    }
    if (!unreadable.isEmpty()) {
      // What could be read is listed above; the failure says what is missing from it.
      throw new CliException(unreadable.size() + (unreadable.size() == 1 ? " entry" : " entries")
          + " could not be read (damaged; 'vde fsck' has the details), the first: "
          + unreadable.get(0).getMessage());
    }
    return ExitCodes.OK;
  }
}
