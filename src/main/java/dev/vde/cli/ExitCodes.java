package dev.vde.cli;

/** The exit codes of {@code vde}; scripts depend on them, so they never change meaning. */
public final class ExitCodes {
  /** The command did what was asked. */
  public static final int OK = 0;
  /** The command line was wrong: unknown option, missing parameter, a value that does not parse. */
  public static final int USAGE = 1;
  /** {@code fsck} (or the check that ends {@code demo}) ran to the end and found problems. */
  public static final int PROBLEMS_FOUND = 2;
  /** The operation failed: the engine refused it, found damage, or the host file system failed. */
  public static final int FAILED = 3;
  /** A defect in vde itself (an exception nobody expected); worth a bug report. */
  public static final int INTERNAL_ERROR = 4;
  /** Interrupted, as a shell reports for SIGINT (128 + 2). */
  public static final int INTERRUPTED = 130;

  private ExitCodes() {}
}
