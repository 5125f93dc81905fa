package dev.vde.cli;

import java.util.List;
import picocli.CommandLine.Command;

/** {@code vde module}: see, plan and add format modules. */
@Command(name = "module", mixinStandardHelpOptions = true,
    description = "See which format modules a volume has, compare the ways to add one, and add it online.")
final class ModuleCommand extends CommandGroup {
  @Override
  List<Class<?>> subcommands() {
    return List.of(ModuleListCommand.class, ModuleAnalyzeCommand.class, ModuleAddCommand.class);
  }
}
