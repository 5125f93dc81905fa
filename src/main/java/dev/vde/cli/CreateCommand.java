package dev.vde.cli;

import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.fs.VolumeInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vde create}: a new, empty image. */
@Command(name = "create", mixinStandardHelpOptions = true,
    description = "Create a new, empty image file. It never overwrites an existing file.")
final class CreateCommand extends ImageCommand {
  @Option(names = "--size", required = true, paramLabel = "SIZE", converter = ByteSize.LongConverter.class,
      description = "Size of the volume: bytes, or with K, M, G or T (powers of 1024; KiB, MiB... too), e.g. 64M.")
  long size;

  @Option(names = "--block-size", paramLabel = "N", converter = ByteSize.IntConverter.class,
      defaultValue = "4096", description = "Block size in bytes, a power of two from 512 to 64K. Default: 4096.")
  int blockSize;

  @Option(names = "--inodes", paramLabel = "N",
      description = "Number of inodes (files and directories the volume can hold, plus the unused inode 0). "
          + "Default (or 0): one per 16 KiB, at least 64.")
  long inodes;

  // Split by Modules.parse, not by picocli: its split drops empty names at the end ("--modules ," is no name at
  // all), which must be refused instead.
  @Option(names = "--modules", paramLabel = "MODULE[,MODULE...]", hideParamSyntax = true,
      completionCandidates = ModuleNames.class,
      description = "Optional format modules to enable, comma-separated, by name or abbreviation in any case, "
          + "e.g. --modules tags,SEC. Valid: ${COMPLETION-CANDIDATES}.")
  List<String> modules = List.of();

  @Option(names = "--label", paramLabel = "TEXT", description = "A label stored in the superblock.")
  String label = "";

  @Option(names = "--preallocate",
      description = "Write zeros over the whole volume now, so the host file has no holes and takes its full size "
          + "at once. Small durable writes are then cheaper (the host file system need not allocate on each "
          + "sync). Creating takes as long as writing SIZE bytes. Default: a sparse host file.")
  boolean preallocate;

  @Override
  public Integer call() throws Exception {
    if (inodes < 0) {
      throw usageError("--inodes must not be negative");
    }
    // As typed: the Path has lost a trailing '/', which says the user meant a directory, and made a file of the
    // name without it ("backups/" became a file "backups", in the way of every later "backups/x.vde").
    String typed = spec.commandLine().getParseResult().matchedPositional(0).stringValues().get(0);
    if (typed.endsWith("/")) {
      throw new CliException(typed + (Files.isDirectory(image) ? ": is a directory; name the new image file in it"
          : Files.exists(image) ? ": not a directory" : ": no such directory"));
    }
    if (Files.exists(image)) {
      throw new CliException(image + ": already exists; choose another name or delete the file first");
    }
    // Not created through: the engine creates only a new file, and a link is the user's to keep.
    if (Files.isSymbolicLink(image)) {
      throw new CliException(image + ": is a symbolic link to a missing file; name the file itself");
    }
    CreateOptions options = CreateOptions.ofSize(size)
        .blockSize(blockSize)
        .inodeCount(inodes)
        .modules(parseModules())
        .label(label)
        .preallocate(preallocate);
    VolumeInfo info;
    // A create that fails removes what it made itself; what it refused to create (a name taken meanwhile) is not
    // ours to delete.
    VirtualDisk created = VirtualDisk.create(image, options);
    try (VirtualDisk disk = created) {
      info = disk.info();
    } catch (IOException | RuntimeException e) {
      // The engine made the file, so whatever is there now is a half-made image of ours.
      Files.deleteIfExists(image);
      throw e;
    }
    out().printf("created %s: %s in %s blocks of %s bytes, %s inodes, modules: %s%n",
        Printable.of(image.toString()), ByteSize.format(info.totalBlocks() * info.blockSize()),
        VolumeInfoText.count(info.totalBlocks()), VolumeInfoText.count(info.blockSize()),
        VolumeInfoText.count(info.inodeCount()),
        info.modules().isEmpty() ? "none"
            : String.join(",", info.modules().stream().map(Module::abbreviation).toList()));
    return ExitCodes.OK;
  }

  private Set<Module> parseModules() throws IOException {
    Set<Module> parsed = EnumSet.noneOf(Module.class);
    parsed.addAll(Modules.parse(modules, "--modules", this::usageError));
    return parsed;
  }

  /** The module abbreviations, for the help text and shell completion. */
  static final class ModuleNames implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
      return Arrays.stream(Module.values()).map(m -> m.displayName() + " (" + m.abbreviation() + ")")
          .iterator();
    }
  }
}
