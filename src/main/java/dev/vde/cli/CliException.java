package dev.vde.cli;

/**
 * A failure the CLI itself detects before or around an engine call (a missing image, a host file that is not
 * there), already worded for the user. The error handler prints the message as it is.
 */
final class CliException extends Exception {
  private static final long serialVersionUID = 1L;

  private final int exitCode;

  CliException(String message) {
    this(message, ExitCodes.FAILED);
  }

  CliException(String message, int exitCode) {
    super(message);
    this.exitCode = exitCode;
  }

  int exitCode() {
    return exitCode;
  }
}
