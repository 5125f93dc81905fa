package dev.vde.cli;

import java.io.PrintStream;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The top-level {@code vde} command. It holds what every subcommand shares: the output streams (given by
 * {@link Main} so tests can capture them) and whether the error stream is a terminal.
 */
@Command(
    name = "vde",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {
        "Create, fill, inspect and check VDE images: virtual disks kept in one host file.",
        "",
        "Start with 'vde demo' to see it work, or 'vde create disk.vde --size 64M'."
    },
    footerHeading = "%nExit codes:%n",
    footer = {
        "  0    success",
        "  1    usage error (bad option, missing parameter, a value that does not parse)",
        "  2    fsck (or demo) found problems",
        "  3    the operation failed: missing or damaged image, locked, not found,",
        "       no space, refused",
        "  4    internal error in vde; please report it with the output of --debug",
        "  130  interrupted"
    })
public final class VdeCommand implements Runnable {
  /**
   * The subcommands, in the order help lists them. They are added by {@link Main} rather than named in the
   * annotation, so that a run can add only the one it executes: picocli builds a command's whole model of options
   * from its annotations up front, which for all of them takes most of the tool's start-up.
   */
  static final List<Class<?>> SUBCOMMANDS = List.of(
      CreateCommand.class,
      InfoCommand.class,
      PutCommand.class,
      GetCommand.class,
      LsCommand.class,
      MkdirCommand.class,
      RmCommand.class,
      MvCommand.class,
      FsckCommand.class,
      CopyCommand.class,
      ModuleCommand.class,
      MigrateCommand.class,
      TagCommand.class,
      DemoCommand.class);

  private final PrintStream out;
  private final PrintStream err;
  private final boolean errIsTerminal;

  @Spec
  private CommandSpec spec;

  // Inherited so that both 'vde --debug info x' and 'vde info x --debug' work; the error handler reads it
  // from the parse result.
  @Option(names = "--debug", scope = ScopeType.INHERIT,
      description = "On failure, print the full stack trace after the error line.")
  private boolean debug;

  VdeCommand(PrintStream out, PrintStream err, boolean errIsTerminal) {
    this.out = out;
    this.err = err;
    this.errIsTerminal = errIsTerminal;
  }

  /** Plain 'vde' without a subcommand is a usage error that shows what there is to do. */
  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "no command given");
  }

  PrintStream out() {
    return out;
  }

  PrintStream err() {
    return err;
  }

  boolean errIsTerminal() {
    return errIsTerminal;
  }
}
