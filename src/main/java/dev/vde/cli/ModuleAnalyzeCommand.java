package dev.vde.cli;

import dev.vde.format.Module;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.ModulePlanner;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vde module analyze}: the four ways to add modules, side by side. */
@Command(name = "analyze", mixinStandardHelpOptions = true,
    description = {"Compare the four ways to add modules (padding claim, region addition, inode migration, copy "
        + "to a new volume): feasibility, changes, blocks, estimated time, downtime, risk, and the recommendation.",
        "Writes nothing."})
final class ModuleAnalyzeCommand extends ImageCommand {
  @Parameters(index = "1..*", arity = "1..*", paramLabel = "MODULE", description = "Modules by name or abbreviation.")
  List<String> moduleNames;

  @Option(names = "--json", description = "Print {modules, options: [{option, feasible, reason, changes, "
      + "blocksRead, blocksWritten, estimatedSeconds, downtime, risk, recommended}, ...] (always four options), "
      + "recommended} (the recommended option's name, or null when none is feasible).")
  boolean json;

  /** JSON shape of one option. */
  record OptionJson(String option, boolean feasible, String reason, String changes, long blocksRead,
      long blocksWritten, double estimatedSeconds, String downtime, String risk, boolean recommended) {}

  /** JSON shape of the analysis. */
  record AnalysisJson(List<String> modules, List<OptionJson> options, String recommended) {}

  @Override
  public Integer call() throws Exception {
    List<Module> modules = Modules.parse(moduleNames, "MODULE", this::usageError);
    if (modules.isEmpty()) {
      // A missing parameter, not a refusal by the volume.
      throw usageError(Modules.NONE_GIVEN);
    }
    ModulePlanner.Analysis a;
    try (VirtualDisk disk = openReadOnly()) {
      a = ModulePlanner.analyze(disk, modules);
    }
    if (json) {
      out().println(Json.pretty(toJson(a)));
    } else {
      render(a, image).forEach(out()::println);
    }
    return ExitCodes.OK;
  }

  static AnalysisJson toJson(ModulePlanner.Analysis a) {
    List<OptionJson> os = a.options().stream().map(o -> new OptionJson(o.option().cliName(), o.feasible(),
        o.reason(), o.changes(), o.blocksRead(), o.blocksWritten(), round(o.estimatedSeconds()), o.downtime(),
        o.risk(), o.recommended())).toList();
    return new AnalysisJson(Modules.abbreviations(a.modules()), os,
        a.recommended() == null ? null : a.recommended().option().cliName());
  }

  private static double round(double s) {
    return Math.round(s * 1000) / 1000.0;
  }

  /**
   * The comparison table and a one-paragraph explanation, which ends with the command that adds the modules to
   * {@code image} the recommended way.
   */
  static List<String> render(ModulePlanner.Analysis a, Path image) {
    TextTable t = new TextTable(false, false, true, true, true, false, false, false)
        .row("OPTION", "FEASIBLE", "READ", "WRITTEN", "EST. TIME", "DOWNTIME", "RISK", "");
    for (ModulePlanner.OptionAnalysis o : a.options()) {
      t.row(o.option().cliName(), o.feasible() ? "yes" : "no", blocks(o.blocksRead()), blocks(o.blocksWritten()),
          Numbers.fixed(o.estimatedSeconds(), 2) + " s", o.downtime().startsWith("none") ? "none"
              : "switch-over", o.risk().split(":")[0], o.recommended() ? "<- recommended" : "");
    }
    List<String> out = new java.util.ArrayList<>(t.lines(""));
    out.add("");
    for (ModulePlanner.OptionAnalysis o : a.options()) {
      out.add(String.format("  %-8s %s", o.option().cliName(), o.feasible() ? o.changes() : "not possible: "
          + o.reason()));
    }
    out.add("");
    ModulePlanner.OptionAnalysis rec = a.recommended();
    String names = String.join(", ", a.modules().stream().map(Module::displayName).toList());
    if (rec == null) {
      out.add("No option can add " + names + " to this volume.");
    } else {
      out.add("Recommended: " + rec.option().cliName() + ". It is the cheapest option that works for " + names
          + " on this volume (options are tried in the order padding, region, migrate, copy): " + rec.changes()
          + ". Downtime: " + rec.downtime() + ". Risk: " + rec.risk() + ". Run it with 'vde module add "
          + ShellWord.of(image) + " "
          + String.join(" ", Modules.abbreviations(a.modules())).toLowerCase(Locale.ROOT)
          + (rec.option().cliName().equals("copy") ? " --option copy --to NEW_IMAGE" : "") + "'.");
    }
    return out;
  }

  private static String blocks(long n) {
    return Numbers.grouped(n);
  }
}
