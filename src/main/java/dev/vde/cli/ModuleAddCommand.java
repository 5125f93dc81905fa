package dev.vde.cli;

import dev.vde.format.Module;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.AdditionOption;
import dev.vde.module.InodeMigration;
import dev.vde.module.ModuleOrchestrator;
import dev.vde.module.ModulePlanner;
import dev.vde.module.MigrationOptions;
import dev.vde.module.copy.CopyOptions;
import dev.vde.module.copy.CopyResult;
import dev.vde.module.copy.ExtentAwareCopy;
import java.io.IOException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vde module add}: add modules online, the recommended way or a chosen one. */
@Command(name = "add", mixinStandardHelpOptions = true,
    description = {"Add format modules to a volume without taking it offline.",
        "--option auto (the default) runs what 'vde module analyze' recommends; padding claims inode padding, "
            + "region adds regions in one WAL transaction, migrate grows every inode by a checkpointed background "
            + "migration (resumable, can be rolled back), copy writes a new volume (--to) with the modules."})
final class ModuleAddCommand extends ImageCommand {
  @Parameters(index = "1..*", arity = "1..*", paramLabel = "MODULE", description = "Modules by name or abbreviation.")
  List<String> moduleNames;

  @Option(names = "--option", paramLabel = "HOW", defaultValue = "auto",
      description = "auto, padding, region, migrate or copy. Default: auto.")
  String option;

  @Option(names = "--dry-run", description = "Print the plan and write nothing.")
  boolean dryRun;

  @Option(names = "--checkpoint-every", paramLabel = "N", defaultValue = "" + MigrationOptions.DEFAULT_CHECKPOINT_EVERY,
      description = "Migration: at most this many inodes (and the rest of one inode-table block) are redone after a "
          + "crash (a checkpoint every third of it; a slow migration also checkpoints at least once a second). "
          + "Default: ${DEFAULT-VALUE}.")
  int checkpointEvery;

  @Option(names = "--max-iops", paramLabel = "N", defaultValue = "0",
      description = "Migration and copy: limit background block I/O per second (0 = unlimited).")
  long maxIops;

  @Option(names = "--to", paramLabel = "DEST",
      description = "Copy: the new image to write. Implies --option copy; the volume itself is then only read.")
  String destinationArg;

  private Path destination;

  @Option(names = "--force", description = "Copy: overwrite an existing destination.")
  boolean force;

  @Mixin
  ProgressOptions progress;

  @Override
  public Integer call() throws Exception {
    List<Module> modules = Modules.parse(moduleNames, "MODULE", this::usageError);
    if (modules.isEmpty()) {
      // A missing parameter, not a refusal by the volume.
      throw usageError(Modules.NONE_GIVEN);
    }
    AdditionOption chosen;
    try {
      chosen = option.equalsIgnoreCase("auto") ? null : AdditionOption.parse(option);
    } catch (IllegalArgumentException e) {
      throw usageError("--option must be auto, padding, region, migrate or copy, not '" + option + "'");
    }
    if (checkpointEvery < 1) {
      throw usageError("--checkpoint-every must be at least 1");
    }
    if (maxIops < 0) {
      throw usageError("--max-iops must be 0 (unlimited) or more");
    }
    destination = destinationArg == null ? null : Path.of(destinationArg);
    if (destination != null) {
      // A destination says the user wants a new volume and this one left alone: never change it in place instead.
      if (chosen != null && chosen != AdditionOption.COPY) {
        throw usageError("--to goes with --option copy; --option " + chosen.cliName() + " changes " + image
            + " in place");
      }
      chosen = AdditionOption.COPY;
    } else if (force) {
      throw usageError("--force goes with --to DEST (it lets the copy replace an existing file)");
    }
    if (destination != null) {
      requireImage();
      destination = CopyCommand.imageFileDestination(destinationArg);
      CopyCommand.requireNewDestination(image, destination, force);
    }
    // A copy only reads the image: it is opened read-only, so that nothing (not even recovery) writes to it and
    // other readers may share it meanwhile.
    try (VirtualDisk disk = dryRun || destination != null ? openReadOnly() : openForChange(modules)) {
      ModulePlanner.Analysis a = ModulePlanner.analyze(disk, modules);
      AdditionOption how = chosen;
      if (how == null) {
        if (a.recommended() == null) {
          ModuleAnalyzeCommand.render(a, image).forEach(out()::println);
          throw new CliException("no option can add " + String.join(", ", Modules.abbreviations(modules))
              + " to this volume");
        }
        how = a.recommended().option();
      }
      // A dry run writes nothing, so it needs no destination: it shows the plan, the copy's included.
      if (how == AdditionOption.COPY && destination == null && !dryRun) {
        if (chosen == null) {
          ModuleAnalyzeCommand.render(a, image).forEach(out()::println);
          throw usageError("no in-place option can add " + String.join(", ", Modules.abbreviations(modules))
              + " to this volume; the recommended way is a copy into a new volume: add --to DEST");
        }
        throw usageError("--option copy needs --to DEST, the new image to write");
      }
      if (dryRun) {
        ModuleAnalyzeCommand.render(a, image).forEach(out()::println);
        ModulePlanner.OptionAnalysis o = a.option(how);
        out().println();
        out().println("Dry run: would add " + String.join(", ", Modules.abbreviations(modules)) + " with --option "
            + how.cliName() + (how == AdditionOption.COPY && destination == null ? " --to NEW_IMAGE" : "")
            + (o.feasible() ? "" : " (not possible: " + o.reason() + ")") + "; nothing was written.");
        return o.feasible() ? ExitCodes.OK : ExitCodes.FAILED;
      }
      int code = run(disk, modules, how, a);
      if (destination == null) {
        closeAfterChange(disk);
      }
      return code;
    }
  }

  /** Runs option {@code how}, which {@code a} (this open's analysis) judged: nothing changed the volume since. */
  private int run(VirtualDisk disk, List<Module> modules, AdditionOption how, ModulePlanner.Analysis a)
      throws Exception {
    String names = String.join(", ", Modules.abbreviations(modules));
    switch (how) {
      case PADDING, REGION -> {
        ModuleOrchestrator.Outcome o = ModuleOrchestrator.execute(disk, modules, how,
            ModuleOrchestrator.Controls.defaults());
        out().println("Added " + names + " by " + how.cliName() + " (one WAL transaction"
            + (o.regionsAdded().isEmpty() ? "" : ", " + o.regionsAdded().size() + " region(s)") + "); inodes are "
            + disk.volume().superblock().inodeSize() + " bytes with " + disk.volume().superblock().layout()
            .paddingBytes() + " bytes of padding left.");
        return ExitCodes.OK;
      }
      case MIGRATE -> {
        ModulePlanner.OptionAnalysis o = a.option(how);
        if (!o.feasible()) {
          // A volume too full for a second inode table is what a copy into a new volume is for: a refusal that
          // does not say so leaves the user to find it in 'vde module analyze'.
          ModulePlanner.OptionAnalysis rec = a.recommended();
          String instead = rec == null ? "" : "; --option " + rec.option().cliName()
              + (rec.option() == AdditionOption.COPY ? " --to NEW_IMAGE" : "") + " would work";
          throw new CliException("cannot add " + names + " with --option migrate: " + o.reason() + instead);
        }
        try (ProgressReporter reporter = progress.reporter(root())) {
          return MigrationRunner.run(disk, image, out(), reporter, checkpointEvery, maxIops,
              opts -> InodeMigration.start(disk, modules, opts));
        } catch (IOException e) {
          throw MigrationRunner.afterFailedStart(disk, image, e);
        }
      }
      case COPY -> {
        try (CancelOnExit exit = new CancelOnExit(); ProgressReporter reporter = progress.reporter(root())) {
          // This process holds the image's lock, so nothing else writes it: a pre-copy would only scan twice.
          CopyOptions co = CopyOptions.defaults().modulesToAdd(EnumSet.copyOf(modules)).force(force)
              .maxIops(maxIops).progress(reporter).preCopy(false).cancellation(exit::requested);
          CopyResult r = ExtentAwareCopy.copy(disk, destination, co);
          reporter.close();
          // With nothing to move the ratio has no meaning (the result divides by at least 1 block), as in 'vde copy'.
          out().println("Copied to " + Printable.of(destination.toString()) + " with " + names + ": "
              + Numbers.grouped(r.blocksCopied()) + " blocks copied, " + Numbers.grouped(r.blocksSkipped())
              + " skipped, " + (r.blocksCopied() == 0
              ? "no file data to copy." : Numbers.fixed(r.speedupOverNaive(), 1) + "x less than a naive copy."));
        }
        return ExitCodes.OK;
      }
      default -> throw new IllegalStateException(how.name());
    }
  }

  /**
   * Opens the image to change it in place. A volume that must stay read-only (damage it was opened read-only for, a
   * host file this process cannot write) is refused as the engine refuses it, and, where the copy can add the
   * modules (it only reads the image and writes a new volume), with that way: `module analyze` recommends it, and
   * the engine's own reason ends with "copy out what you need, or restore the volume from a backup".
   */
  private VirtualDisk openForChange(List<Module> modules) throws IOException, CliException {
    try {
      return openWritable();
    } catch (dev.vde.VdeReadOnlyException | dev.vde.VdeCorruptedException e) {
      // Damage a writable open refuses outright (an unreadable bitmap block) leaves a read-only open possible.
      boolean copyWorks;
      try (VirtualDisk ro = openReadOnly()) {
        copyWorks = ModulePlanner.analyze(ro, modules).option(AdditionOption.COPY).feasible();
      } catch (IOException | RuntimeException notEvenThat) {
        copyWorks = false;
      }
      if (!copyWorks) {
        throw e;
      }
      String names = String.join(" ", Modules.abbreviations(modules));
      String hint = "; a copy can still add " + names + ", into a new volume: 'vde module add "
          + ShellWord.of(image) + " " + names + " --to DEST'";
      String resource = " (" + (e.getResourceDescription() == null ? image : e.getResourceDescription()) + ")";
      throw CliException.printable(Printable.of(e.getOriginalMessage()) + hint + Printable.of(resource));
    }
  }
}
