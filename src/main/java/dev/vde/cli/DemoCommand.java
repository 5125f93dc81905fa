package dev.vde.cli;

import dev.vde.Progress;

import dev.vde.check.VerifyReport;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code vde demo}: shows the engine end to end in a few seconds. It creates an image, fills it with sample
 * files, reopens it, shows its figures and a listing, reads every file back and compares it, runs the
 * verifier, and reports how fast each step was.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {
        "Create a sample image, fill it with a few hundred files, read them back, check it, and report speeds.",
        "The image is DIR/demo.vde (and its copy DIR/demo-copy.vde); without DIR a new temporary folder is used "
            + "(its path is printed). Neither file may exist yet."
    })
final class DemoCommand implements Callable<Integer> {
  static final String IMAGE_NAME = "demo.vde";
  /** The copy the modules part makes, beside the image. */
  static final String COPY_NAME = "demo-copy.vde";
  /** Small files are written in groups, one engine batch each: fewer commits is what makes them fast. */
  private static final int SMALL_FILE_LIMIT = 64 * SampleFiles.KIB;
  private static final int FILES_PER_BATCH = 64;
  private static final String LISTED_FOLDER = "/docs";

  @ParentCommand
  VdeCommand vde;

  @Spec
  CommandSpec spec;

  @Parameters(index = "0", arity = "0..1", paramLabel = "DIR",
      description = "Folder for the image (created if missing). Default: a new temporary folder.")
  Path dir;

  /** A demo, not a load generator: about 140 GB of samples at this count. */
  static final int MAX_FILES = 1_000_000;

  @Option(names = "--files", paramLabel = "N", defaultValue = "300",
      description = "How many sample files to write (at most 1000000). Default: ${DEFAULT-VALUE}.")
  int fileCount;

  @Option(names = "--seed", paramLabel = "N", defaultValue = "20240601",
      description = "Seed of the sample content; the same seed gives the same files. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--no-modules", description = "Stop after the file part; skip adding modules, the migration and "
      + "the copy.")
  boolean skipModules;

  @Mixin
  ProgressOptions progress;

  @Override
  public Integer call() throws Exception {
    if (fileCount < 1 || fileCount > MAX_FILES) {
      throw new ParameterException(spec.commandLine(), "--files must be from 1 to " + MAX_FILES);
    }
    PrintStream out = vde.out();
    Path image = prepareImagePath();
    out.println("vde demo: working in " + Printable.of(String.valueOf(image.getParent())));

    List<SampleFiles.Sample> samples = SampleFiles.generate(fileCount, seed);
    long totalBytes = samples.stream().mapToLong(SampleFiles.Sample::size).sum();
    // The image holds the samples, and the copy at the end holds them again.
    long need = totalBytes * (skipModules ? 1 : 2) + 64L * SampleFiles.MIB;
    long free = Files.getFileStore(image.getParent()).getUsableSpace();
    if (free < need) {
      throw new CliException("the demo with " + fileCount + " files writes about " + ByteSize.format(need)
          + " to " + image.getParent() + ", which has " + ByteSize.format(free) + " free; use fewer --files");
    }
    Stopwatch watch = new Stopwatch();
    createAndFill(image, samples, totalBytes, watch);
    FsckReport fsck = reopenAndCheck(image, samples, totalBytes, watch);
    if (fsck.clean() && !skipModules) {
      // Generated again when compared, not held: memory does not grow with the samples' bytes.
      java.util.Map<String, SampleFiles.Sample> contents = new java.util.HashMap<>();
      for (SampleFiles.Sample s : samples) {
        contents.put(s.path(), s);
      }
      try (ProgressReporter reporter = progress.reporter(vde)) {
        new DemoModulesTour(out, watch).run(image, contents, reporter);
      }
      try (VirtualDisk disk = VirtualDisk.open(image, OpenOptions.readOnlyOptions())) {
        fsck = FsckReport.of(disk.verify(Progress.NONE));
      }
      out.printf("12. fsck after all that:%n");
      fsck.lines().forEach(line -> out.println(indented(line)));
    }
    out.println();
    String word = ShellWord.of(image);
    out.printf("Done in %s. Look around with:%n  vde ls %s / -R%n  vde get %s %s -%n", watch.total(), word, word,
        ShellWord.of(samples.stream().filter(s -> s.text() && s.size() > 0).findFirst().map(SampleFiles.Sample::path)
            .orElse(samples.get(0).path())));
    return fsck.clean() ? ExitCodes.OK : ExitCodes.PROBLEMS_FOUND;
  }

  /** Steps 1 and 2: a new image, sized for the samples, and the samples written into it. */
  private void createAndFill(Path image, List<SampleFiles.Sample> samples, long totalBytes, Stopwatch watch)
      throws IOException {
    PrintStream out = vde.out();
    try (VirtualDisk disk = VirtualDisk.create(image, CreateOptions.ofSize(volumeSize(totalBytes))
        .label("vde demo"))) {
      out.printf("1. created %s (%s) in %s%n", Printable.of(image.toString()), ByteSize.format(Files.size(image)),
          watch.lap());
      try (ProgressReporter reporter = progress.reporter(vde)) {
        writeSamples(disk, samples, reporter);
      }
      out.printf("2. wrote %d files (%s) into %d nested folders in %s: %s%n", samples.size(),
          ByteSize.format(totalBytes), SampleFiles.folders().size(), watch.lap(),
          watch.rates(samples.size(), totalBytes));
    }
  }

  /** Steps 3 to 6, on the image reopened read-only: info, a listing, every file compared, the verifier. */
  private FsckReport reopenAndCheck(Path image, List<SampleFiles.Sample> samples, long totalBytes, Stopwatch watch)
      throws IOException, CliException {
    PrintStream out = vde.out();
    VerifyReport report;
    try (VirtualDisk disk = VirtualDisk.open(image, OpenOptions.readOnlyOptions())) {
      out.println("3. reopened it without writing to it (as vde info does); vde info says:");
      VolumeInfoText.lines(ReadOnlyView.volumeInfo(disk, image)).forEach(line -> out.println(indented(line)));
      out.println("4. vde ls " + LISTED_FOLDER + ":");
      Listing.text(Listing.of(disk, LISTED_FOLDER, false)).forEach(line -> out.println(indented(line)));
      watch.lap();
      try (ProgressReporter reporter = progress.reporter(vde)) {
        readBackAndCompare(disk, samples, reporter);
      }
      out.printf("5. read all %d files back and compared them byte for byte: identical, in %s: %s%n",
          samples.size(), watch.lap(), watch.rates(samples.size(), totalBytes));
      try (ProgressReporter reporter = progress.reporter(vde)) {
        report = disk.verify(reporter);
      }
    }
    FsckReport fsck = FsckReport.of(report);
    out.printf("6. fsck in %s:%n", watch.lap());
    fsck.lines().forEach(line -> out.println(indented(line)));
    return fsck;
  }

  private static String indented(String line) {
    return line.isEmpty() ? line : "     " + line;
  }

  private Path prepareImagePath() throws IOException, CliException {
    Path folder = dir == null ? Files.createTempDirectory("vde-demo-") : dir;
    // DIR is a folder for the image, not the image: a file there would otherwise fail as a bare "already exists".
    if (Files.exists(folder) && !Files.isDirectory(folder)) {
      throw new CliException(folder + ": not a directory; DIR is the folder the demo puts " + IMAGE_NAME
          + " in");
    }
    Files.createDirectories(folder);
    Path image = folder.resolve(IMAGE_NAME);
    if (Files.exists(image)) {
      throw new CliException(image + ": already exists; delete it or give the demo another folder");
    }
    // The copy is the last step: found there only then, it would end the demo after all its work.
    Path copy = folder.resolve(COPY_NAME);
    if (!skipModules && (Files.exists(copy) || Files.isSymbolicLink(copy))) {
      throw new CliException(copy + ": already exists; delete it or give the demo another folder");
    }
    return image;
  }

  /** Room for the samples twice over plus metadata, so the demo never runs out of space. */
  private static long volumeSize(long totalBytes) {
    long wanted = 2 * totalBytes + 32L * SampleFiles.MIB;
    long mib = SampleFiles.MIB;
    return (wanted + mib - 1) / mib * mib;
  }

  private static void writeSamples(VirtualDisk disk, List<SampleFiles.Sample> samples, ProgressReporter reporter)
      throws IOException {
    reporter.update("writing", 0, samples.size(), "files");
    for (String folder : SampleFiles.folders()) {
      disk.mkdirs(folder);
    }
    List<SampleFiles.Sample> small = samples.stream().filter(s -> s.size() <= SMALL_FILE_LIMIT).toList();
    List<SampleFiles.Sample> large = samples.stream().filter(s -> s.size() > SMALL_FILE_LIMIT).toList();
    int done = 0;
    for (int from = 0; from < small.size(); from += FILES_PER_BATCH) {
      List<SampleFiles.Sample> group = small.subList(from, Math.min(small.size(), from + FILES_PER_BATCH));
      disk.batch(d -> {
        for (SampleFiles.Sample s : group) {
          d.writeFile(s.path(), s.content());
        }
      });
      done += group.size();
      reporter.update("writing", done, samples.size(), "files");
    }
    for (SampleFiles.Sample s : large) {
      disk.writeFile(s.path(), s.content());
      reporter.update("writing", ++done, samples.size(), "files");
    }
  }

  private static void readBackAndCompare(VirtualDisk disk, List<SampleFiles.Sample> samples,
      ProgressReporter reporter) throws IOException, CliException {
    reporter.update("reading", 0, samples.size(), "files");
    int done = 0;
    for (SampleFiles.Sample s : samples) {
      byte[] expected = s.content();
      byte[] actual = disk.readFile(s.path());
      int mismatch = Arrays.mismatch(expected, actual);
      if (mismatch >= 0) {
        throw new CliException(String.format(Locale.ROOT,
            "%s reads back differently from what was written: first difference at byte %,d (%,d bytes"
                + " written, %,d read); this is a bug in vde, please report it", s.path(), mismatch,
            expected.length, actual.length));
      }
      reporter.update("reading", ++done, samples.size(), "files");
    }
  }
}
