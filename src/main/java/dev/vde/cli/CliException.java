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
   * A message the caller has already made printable ({@link Printable}), because it quotes a command to paste
   * ({@link ShellWord}): escaped once more, a backslash in that command would name another file.
   */
  static CliException printable(String message) {
    return new CliException(message, ExitCodes.FAILED, true);
  }

  boolean isPrintable() {
    return printable;
  }

  int exitCode() {
    return exitCode;
  }
}
