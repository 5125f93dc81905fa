package dev.vde.cli;

/**
 * A failure the CLI itself detects before or around an engine call (a missing image, a host file that is not
 * there), already worded for the user. The error handler prints the message as it is.
 */
final class CliException extends Exception {
  private static final long serialVersionUID = 1L;

  private final int exitCode;
  private final boolean printable;

  CliException(String message) {
    this(message, ExitCodes.FAILED);
  }

  CliException(String message, int exitCode) {
    this(message, exitCode, false);
  }

  private CliException(String message, int exitCode, boolean printable) {
    super(message);
    this.exitCode = exitCode;
    this.printable = printable;
  }

  /**
   * A message the caller has already made printable ({@link Printable}): because it quotes a command to paste
   * ({@link ShellWord}), where escaped once more a backslash would name another file, or because it adds to a
   * {@link Failure}'s message, which is printable already.
   */
  static CliException printable(String message) {
    return printable(message, ExitCodes.FAILED);
  }

  static CliException printable(String message, int exitCode) {
    return new CliException(message, exitCode, true);
  }

  boolean isPrintable() {
    return printable;
  }

  int exitCode() {
    return exitCode;
  }
}
