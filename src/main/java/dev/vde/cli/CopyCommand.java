package dev.vde.cli;

import dev.vde.format.Module;
import dev.vde.module.copy.CopyOptions;
import dev.vde.module.copy.CopyResult;
import dev.vde.module.copy.ExtentAwareCopy;
import java.io.IOException;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vde copy}: a new image with the same content, optionally with more modules, moving only live blocks. */
@Command(name = "copy", mixinStandardHelpOptions = true,
    description = {
        "Copy the image IMAGE to a new image file DEST, optionally adding modules: the copy is laid out as if it "
            + "had been created with them.",
        "Only blocks holding files and directories are read and written; free space is skipped and DEST stays "
            + "sparse. IMAGE is opened read-only and never changed. A copy that is interrupted or fails leaves no "
            + "DEST, or one marked incomplete that no command opens."
    })
final class CopyCommand extends ImageCommand {
  /** As typed: a trailing '/' says the user meant a directory, and a {@link Path} would drop it. */
  @Parameters(index = "1", paramLabel = "DEST", description = "The new image file; it must not exist (see --force).")
  String destinationArg;

  private Path destination;

  // Split by Modules.parse, which refuses empty names; picocli's split drops them at the end.
  @Option(names = "--add-module", paramLabel = "MODULE[,MODULE...]", hideParamSyntax = true,
      completionCandidates = CreateCommand.ModuleNames.class,
      description = "A module the copy gets in addition to IMAGE's; repeat it or separate names with commas, "
          + "e.g. --add-module tags,SEC. Valid: ${COMPLETION-CANDIDATES}.")
  List<String> modules = List.of();

  @Option(names = "--max-iops", paramLabel = "N",
      description = "At most N block reads plus writes per second, to spare other users of the disk. "
          + "Default: 0, no limit.")
  long maxIops;

  @Option(names = "--verify",
      description = "Read the copy back when done: every block's checksum, a full check of the new image, and "
          + "every file compared with IMAGE.")
  boolean verify;

  @Option(names = "--size", paramLabel = "SIZE", converter = ByteSize.LongConverter.class,
      description = "Size of the copy, e.g. 8G; at least IMAGE's (block numbers are kept, so it can grow, never "
          + "shrink). Default (or 0): IMAGE's size.")
  long sizeBytes;

  @Option(names = "--force", description = "Replace DEST if it exists (never IMAGE itself, nor an image in use). "
      + "The copy is written beside DEST and renamed over it when complete; a failed copy leaves DEST as it was.")
  boolean force;

  @Option(names = "--json", description = "Print one JSON object instead of text.")
  boolean json;

  @Mixin
  ProgressOptions progress;

  @Override
  public Integer call() throws Exception {
    if (maxIops < 0) {
      throw usageError("--max-iops must not be negative");
    }
    if (sizeBytes < 0) {
      throw usageError("--size must not be negative");
    }
    requireImage();
    destination = imageFileDestination(destinationArg);
    requireNewDestination(image, destination, force);
    Set<Module> added = parseModules();
    CopyResult result;
    try (CancelOnExit exit = new CancelOnExit(); ProgressReporter reporter = progress.reporter(root())) {
      CopyOptions options = CopyOptions.defaults()
          .modulesToAdd(added)
          .maxIops(maxIops)
          .sizeBytes(sizeBytes)
          .verify(verify)
          .force(force)
          .progress(reporter)
          .cancellation(exit::requested);
      result = ExtentAwareCopy.copy(image, destination, options);
    }
    if (json) {
      out().println(Json.pretty(Report.of(image, destination, result)));
    } else {
      printSummary(out(), result);
    }
    return ExitCodes.OK;
  }

  /**
   * The path of a new image file named on the command line ({@code DEST}, {@code --to DEST}). A directory, device
   * or pipe is refused as what it is: not an existing image that {@code --force} would replace. A name written
   * with a trailing '/' means a directory too, which must not turn into a file of the name without the slash.
   */
  static Path imageFileDestination(String typed) throws CliException {
    if (typed.isEmpty()) {
      // Path.of("") is the current directory: "': is a directory" would name nothing.
      throw new CliException("DEST is empty: " + HostPath.EMPTY + "; name the new image file", ExitCodes.USAGE);
    }
    Path p = Path.of(typed);
    if (typed.endsWith("/") || typed.endsWith(java.io.File.separator)) {
      throw new CliException(typed + (Files.isDirectory(p) ? ": is a directory; name the new image file in it"
          : Files.exists(p) ? ": not a directory" : ": no such directory"));
    }
    if (Files.isDirectory(p)) {
      throw new CliException(typed + ": is a directory; name the new image file in it");
    }
    if (Files.exists(p) && !Files.isRegularFile(p)) {
      throw new CliException(typed + ": not a regular file (a device or a pipe?); a copy only replaces an image "
          + "file");
    }
    return p;
  }

  /**
   * Checked here too (for {@code vde copy} and {@code vde module add --to}) so the message names DEST alone and
   * speaks of the option, not the library call.
   */
  static void requireNewDestination(Path image, Path destination, boolean force) throws IOException, CliException {
    Path parent = destination.toAbsolutePath().getParent();
    if (parent == null || !Files.isDirectory(parent)) {
      throw new CliException(parent + ": no such directory");
    }
    if (Files.exists(destination) && Files.isSameFile(image, destination)) {
      throw new CliException(destination + ": is the source image; copy to another file");
    }
    if (Files.exists(destination) && !force) {
      throw new CliException(destination + ": already exists; choose another name or use --force to replace it");
    }
    if (!Files.exists(destination) && Files.isSymbolicLink(destination)) {
      // The library refuses it too, but its message would be followed by the image, as if the source were at fault.
      throw new CliException(destination + ": is a symbolic link to a missing file; name the file itself");
    }
  }

  private Set<Module> parseModules() throws IOException {
    Set<Module> parsed = EnumSet.noneOf(Module.class);
    parsed.addAll(Modules.parse(modules, "--add-module", this::usageError));
    return parsed;
  }

  private void printSummary(PrintStream out, CopyResult r) {
    out.println("copied " + Printable.of(image.toString()) + " to " + Printable.of(destination.toString()) + ": "
        + Numbers.grouped(r.blocksCopied()) + " of " + Numbers.grouped(r.totalBlocks()) + " blocks ("
        + ByteSize.format(r.bytesCopied()) + ") in "
        + Numbers.fixed(r.duration().toNanos() / 1e9, 2) + " s, "
        + Numbers.fixed(r.bytesPerSecond() / (1 << 20), 1) + " MiB/s");
    // With nothing to move the ratio has no meaning (the result divides by at least 1 block).
    out.println("skipped " + Numbers.grouped(r.blocksSkipped()) + " free and metadata blocks: " + (r.blocksCopied() == 0
        ? "no file data to copy" : Numbers.fixed(r.speedupOverNaive(), 1) + " times less I/O than copying the whole "
        + "image"));
    if (r.blocksRelocated() > 0) {
      out.println("moved " + Numbers.grouped(r.blocksRelocated()) + " blocks out of the way of the larger metadata");
    }
    out.println("modules: " + (r.modules().isEmpty() ? "none" : abbreviations(r.modules()))
        + (r.modulesAdded().isEmpty() ? "" : " (added " + abbreviations(r.modulesAdded()) + ")"));
    if (r.verified()) {
      out.println("verified: every block checksum, the new image's structure and every file match");
    }
  }

  private static BigDecimal mibPerSecond(CopyResult r) {
    return BigDecimal.valueOf(r.bytesPerSecond() / (1 << 20)).setScale(1, RoundingMode.HALF_UP);
  }

  private static String abbreviations(Set<Module> ms) {
    return ms.stream().map(Module::abbreviation).collect(Collectors.joining(","));
  }



  /** The shape of {@code vde copy --json}; the component order is the key order. */
  record Report(String source, String destination, List<String> modulesAdded, List<String> modules,
      long totalBlocks, long blocksCopied, long blocksSkipped, long blocksRelocated, long extentBlocksAdded,
      long inodesCopied, long bytesCopied, BigDecimal seconds, BigDecimal mibPerSecond,
      BigDecimal speedupOverNaive, long pauseMillis, boolean verified) {

    static Report of(Path source, Path destination, CopyResult r) {
      return new Report(source.toString(), destination.toString(), names(r.modulesAdded()), names(r.modules()),
          r.totalBlocks(), r.blocksCopied(), r.blocksSkipped(), r.blocksRelocated(), r.extentBlocksAdded(),
          r.inodesCopied(), r.bytesCopied(), BigDecimal.valueOf(r.duration().toNanos() / 1e9)
              .setScale(3, RoundingMode.HALF_UP),
          CopyCommand.mibPerSecond(r), BigDecimal.valueOf(r.speedupOverNaive()).setScale(1, RoundingMode.HALF_UP),
          r.pauseMillis(), r.verified());
    }

    private static List<String> names(Set<Module> ms) {
      return ms.stream().map(Module::abbreviation).toList();
    }
  }
}
