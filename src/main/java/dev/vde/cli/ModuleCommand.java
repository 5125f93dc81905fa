package dev.vde.cli;

import picocli.CommandLine.Command;

/** {@code vde module}: see, plan and add format modules. */
@Command(name = "module", mixinStandardHelpOptions = true,
    description = "See which format modules a volume has, compare the ways to add one, and add it online.",
    subcommands = {ModuleListCommand.class, ModuleAnalyzeCommand.class, ModuleAddCommand.class})
final class ModuleCommand extends CommandGroup {}
