package dev.vde.module;

import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.Module;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.copy.CopyOptions;
import dev.vde.module.copy.CopyResult;
import dev.vde.module.copy.ExtentAwareCopy;
import java.io.IOException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;

/**
 * Runs a module addition the way {@link ModulePlanner} recommends, or the way the caller insists on, with the
 * progress, throttle and cancel controls of the option itself.
 */
public final class ModuleOrchestrator {
  private ModuleOrchestrator() {}

  /** What an execution did; exactly one of the detail fields is set, matching {@code option}. */
  public record Outcome(AdditionOption option, List<dev.vde.format.RegionDirectory.Entry> regionsAdded,
      MigrationResult migration, CopyResult copy) {}

  /** Controls for the long options; defaults: no destination, default migration and copy options. */
  public record Controls(Path copyDestination, MigrationOptions migration, CopyOptions copy) {
    /** A null {@code migration} or {@code copy} stands for the defaults. */
    public Controls {
      migration = migration != null ? migration : MigrationOptions.defaults();
      copy = copy != null ? copy : CopyOptions.defaults();
    }

    public static Controls defaults() {
      return new Controls(null, MigrationOptions.defaults(), CopyOptions.defaults());
    }
  }

  /**
   * Analyzes (the copy as {@code controls} would make it) and runs the recommended option; null {@code controls}
   * are {@link Controls#defaults()}.
   */
  public static Outcome executeRecommended(VirtualDisk disk, List<Module> modules, Controls controls)
      throws IOException {
    controls = orDefaults(controls);
    ModulePlanner.Analysis a = ModulePlanner.analyze(disk, modules, copyOptions(controls));
    ModulePlanner.OptionAnalysis rec = a.recommended();
    if (rec == null) {
      throw ModulePlanner.nothingFeasible(a);
    }
    return execute(disk, modules, rec.option(), controls);
  }

  /**
   * Runs {@code option}; refuses, before writing anything, when the analysis finds it infeasible. Null
   * {@code controls} are {@link Controls#defaults()}, which have no copy destination.
   */
  public static Outcome execute(VirtualDisk disk, List<Module> modules, AdditionOption option, Controls controls)
      throws IOException {
    if (option == null) {
      throw new VdeInvalidArgumentException("no addition option given: padding, region, migrate or copy");
    }
    controls = orDefaults(controls);
    ModulePlanner.Analysis a = ModulePlanner.analyze(disk, modules, copyOptions(controls));
    ModulePlanner.OptionAnalysis o = a.option(option);
    if (!o.feasible()) {
      throw new VdeInvalidArgumentException("cannot add " + InPlaceAddition.names(modules) + " with --option "
          + option.cliName() + ": " + o.reason() + hint(a, option));
    }
    switch (option) {
      case PADDING, REGION -> {
        return new Outcome(option, InPlaceAddition.add(disk, modules), null, null);
      }
      case MIGRATE -> {
        return new Outcome(option, List.of(), InodeMigration.start(disk, modules, controls.migration()), null);
      }
      case COPY -> {
        if (controls.copyDestination() == null) {
          throw new VdeInvalidArgumentException("a copy needs a destination: the new image to write "
              + "(Controls.copyDestination; --to DEST on the command line)");
        }
        CopyOptions co = forCopy(controls.copy(), modules);
        return new Outcome(option, List.of(), null, ExtentAwareCopy.copy(disk, controls.copyDestination(), co));
      }
      default -> throw new IllegalStateException(option.name());
    }
  }

  /**
   * {@code controls}, or the defaults for null: the in-place options need none, and a migration or a copy run
   * without them used to stop on a NullPointerException.
   */
  private static Controls orDefaults(Controls controls) {
    return controls != null ? controls : Controls.defaults();
  }

  /**
   * The caller's copy options with {@code modules} to add, as a new object: setting them on the caller's own left
   * them there, so that a later copy made with the same options (a plain backup, say) added the modules too.
   */
  private static CopyOptions forCopy(CopyOptions c, List<Module> modules) {
    return c.copy().modulesToAdd(EnumSet.copyOf(modules));
  }

  /** The copy's options. */
  private static CopyOptions copyOptions(Controls controls) {
    return controls.copy();
  }

  private static String hint(ModulePlanner.Analysis a, AdditionOption refused) {
    ModulePlanner.OptionAnalysis rec = a.recommended();
    // A copy is run only with a destination: naming the option alone leads to a second refusal for the lack of one.
    return rec == null || rec.option() == refused ? "" : "; --option " + rec.option().cliName()
        + (rec.option() == AdditionOption.COPY ? " --to NEW_IMAGE" : "") + " would work";
  }
}
