package dev.vde.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code vde} command-line tool. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err, Terminal.isStderrTerminal()));
  }

  /**
   * Runs one command in-process and returns its exit code instead of exiting, so tests can capture the
   * streams. The error stream is never treated as a terminal here, so no progress bar is drawn.
   */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    return run(args, out, err, false);
  }

  static int run(String[] args, PrintStream out, PrintStream err, boolean errIsTerminal) {
    CommandLine cli = commandLine(out, err, errIsTerminal, args);
    int code;
    try {
      code = cli.execute(args);
    } finally {
      cli.getOut().flush();
      cli.getErr().flush();
      out.flush();
      err.flush();
    }
    // A PrintStream keeps its write errors to itself: without this, output lost to a full disk or a closed pipe
    // (a 'get -' cut short, say) would still exit 0, and a script would take the truncated result as complete.
    if (code == ExitCodes.OK && out.checkError()) {
      err.println("vde: cannot write standard output; what it shows is incomplete");
      err.flush();
      return ExitCodes.FAILED;
    }
    return code;
  }

  static CommandLine commandLine(PrintStream out, PrintStream err, boolean errIsTerminal, String[] args) {
    ErrorHandler errors = new ErrorHandler(args);
    CommandLine cli = new CommandLine(new VdeCommand(out, err, errIsTerminal));
    Class<?> only = subcommandNamed(firstWord(args));
    for (Class<?> sub : VdeCommand.SUBCOMMANDS) {
      // Help, suggestions for a mistyped name and the usage error for a missing one need them all.
      if (only == null || sub == only) {
        cli.addSubcommand(sub);
      }
    }
    cli.setOut(writer(out));
    cli.setErr(writer(err));
    cli.setCaseInsensitiveEnumValuesAllowed(true);
    cli.setExecutionExceptionHandler(errors);
    cli.setParameterExceptionHandler(errors);
    // Standard help options give every subcommand --version; without this they would print nothing.
    cli.getSubcommands().values().forEach(sub -> sub.getCommandSpec().versionProvider(new VersionProvider()));
    return cli;
  }

  /** The first argument that is not an option: the subcommand's name ({@code vde} has no option with a value). */
  private static String firstWord(String[] args) {
    for (String a : args) {
      if (a.equals("--")) {
        return null;
      }
      if (!a.startsWith("-")) {
        return a;
      }
    }
    return null;
  }

  private static Class<?> subcommandNamed(String name) {
    if (name == null) {
      return null;
    }
    for (Class<?> sub : VdeCommand.SUBCOMMANDS) {
      Command c = sub.getAnnotation(Command.class);
      if (c.name().equals(name) || java.util.Arrays.asList(c.aliases()).contains(name)) {
        return sub;
      }
    }
    return null;
  }

  private static PrintWriter writer(PrintStream stream) {
    return new PrintWriter(stream, true);
  }
}
