package dev.vde.cli;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * Turns every failure into one line on stderr, starting with {@code vde: }, and the matching exit code. The
 * stack trace follows only with {@code --debug}: users need to know what went wrong and what to do, not
 * where in the code it happened.
 */
final class ErrorHandler implements IExecutionExceptionHandler, IParameterExceptionHandler {
  private final List<String> args;

  ErrorHandler(String[] args) {
    this.args = Arrays.asList(args);
  }

  @Override
  public int handleParseException(ParameterException ex, String[] ignored) {
    CommandLine cmd = ex.getCommandLine();
    String message = ex instanceof UnmatchedArgumentException unmatched ? Failure.oneLine(describe(unmatched))
        : Failure.joinLines(ex.getMessage());
    message += "; run '" + cmd.getCommandSpec().qualifiedName() + " --help' for usage";
    // The parse failed, so the parse result cannot tell whether --debug was given; the raw words can.
    report(cmd.getErr(), message, ex, args.contains("--debug"));
    return ExitCodes.USAGE;
  }

  @Override
  public int handleExecutionException(Exception ex, CommandLine cmd, ParseResult parsed) {
    Object command = cmd.getCommand();
    Failure failure = Failure.of(ex, command instanceof ImageCommand ic ? ic.image : null);
    report(cmd.getErr(), failure.message(), ex, debugRequested(parsed));
    return failure.exitCode();
  }

  /** An Error thrown by a command, which picocli does not hand to {@link #handleExecutionException}. */
  int handleError(Error error, PrintWriter err) {
    Failure failure = Failure.of(error);
    report(err, failure.message(), error, args.contains("--debug"));
    return failure.exitCode();
  }

  /** Picocli says "Unmatched argument at index 0"; users think in commands, options and arguments. */
  private static String describe(UnmatchedArgumentException ex) {
    List<String> unmatched = ex.getUnmatched();
    String first = unmatched.isEmpty() ? "" : unmatched.get(0);
    String what;
    if (ex.isUnknownOption()) {
      what = "unknown option '" + first + "'";
    } else if (!ex.getCommandLine().getSubcommands().isEmpty()) {
      // A command with subcommands takes no arguments of its own, so a stray word was meant as a command.
      what = "unknown command '" + first + "'";
    } else {
      what = "unexpected " + (unmatched.size() == 1 ? "argument " : "arguments ")
          + String.join(" ", unmatched.stream().map(a -> "'" + a + "'").toList());
    }
    List<String> suggestions = ex.getSuggestions();
    if (!suggestions.isEmpty()) {
      what += " (did you mean " + String.join(" or ", suggestions.stream().map(s -> "'" + s + "'").toList()) + "?)";
    }
    return what;
  }

  private static void report(PrintWriter err, String message, Throwable ex, boolean debug) {
    err.println("vde: " + message);
    if (debug) {
      ex.printStackTrace(err);
    }
    err.flush();
  }

  private static boolean debugRequested(ParseResult parsed) {
    for (ParseResult level = parsed; level != null; level = level.subcommand()) {
      if (level.hasMatchedOption("--debug")) {
        return true;
      }
    }
    return false;
  }
}
