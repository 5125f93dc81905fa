package dev.vde.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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
    } catch (Error e) {
      // Picocli hands only Exceptions to the error handler: an Error (a heap too small for the work) would end the
      // JVM with a stack trace and exit code 1, the code of a usage error.
      code = ((ErrorHandler) cli.getExecutionExceptionHandler()).handleError(e, cli.getErr());
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
    List<String> words = words(args);
    // Help, suggestions for a mistyped name and the usage error for a missing one need them all; --version alone
    // needs none.
    if (!(words.isEmpty() && versionOnly(args))) {
      addSubcommands(cli, VdeCommand.SUBCOMMANDS, words, 0);
    }
    // After the subcommands are added: a converter registered on the root reaches only those already there.
    cli.registerConverter(Integer.class, new WholeNumber.IntConverter());
    cli.registerConverter(Integer.TYPE, new WholeNumber.IntConverter());
    cli.registerConverter(Long.class, new WholeNumber.LongConverter());
    cli.registerConverter(Long.TYPE, new WholeNumber.LongConverter());
    cli.registerConverter(java.nio.file.Path.class, new HostPath());
    cli.setOut(writer(out));
    cli.setErr(writer(err));
    cli.setCaseInsensitiveEnumValuesAllowed(true);
    cli.setExecutionExceptionHandler(errors);
    cli.setParameterExceptionHandler(errors);
    // Standard help options give every subcommand --version; without this they would print nothing.
    cli.getSubcommands().values().forEach(sub -> sub.getCommandSpec().versionProvider(new VersionProvider()));
    return cli;
  }

  /**
   * Adds to {@code parent} the one of {@code subs} that {@code words.get(depth)} names, or all of them when it
   * names none, then the same one level down for a group ({@code vde module add}).
   */
  private static void addSubcommands(CommandLine parent, List<Class<?>> subs, List<String> words, int depth) {
    Class<?> only = depth < words.size() ? subcommandNamed(subs, words.get(depth)) : null;
    for (Class<?> sub : subs) {
      if (only == null || sub == only) {
        parent.addSubcommand(sub);
      }
    }
    if (only != null) {
      CommandLine added = parent.getSubcommands().get(only.getAnnotation(Command.class).name());
      if (added.getCommand() instanceof CommandGroup group) {
        addSubcommands(added, group.subcommands(), words, depth + 1);
      }
    }
  }

  /**
   * The arguments that are not options, up to a {@code --}: the names of the command and subcommand come first
   * among them ({@code vde} and its groups have no option that takes a value).
   */
  private static List<String> words(String[] args) {
    List<String> words = new ArrayList<>();
    for (String a : args) {
      if (a.equals("--")) {
        break;
      }
      if (!a.startsWith("-")) {
        words.add(a);
      }
    }
    return words;
  }

  /** Whether the options ask for the version and not for help. */
  private static boolean versionOnly(String[] args) {
    List<String> options = Arrays.asList(args);
    return (options.contains("--version") || options.contains("-V"))
        && !options.contains("--help") && !options.contains("-h");
  }

  private static Class<?> subcommandNamed(List<Class<?>> subs, String name) {
    for (Class<?> sub : subs) {
      Command c = sub.getAnnotation(Command.class);
      if (c.name().equals(name) || Arrays.asList(c.aliases()).contains(name)) {
        return sub;
      }
    }
    return null;
  }

  private static PrintWriter writer(PrintStream stream) {
    return new PrintWriter(stream, true);
  }
}
