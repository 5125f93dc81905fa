package dev.vde.cli;

import picocli.CommandLine.Option;

/** The {@code --progress} option, mixed into every command that can run for a while. */
final class ProgressOptions {
  @Option(names = "--progress", paramLabel = "MODE", defaultValue = "auto",
      description = "Progress on stderr: auto (a bar when stderr is a terminal, else nothing), bar, "
          + "lines (a plain line per whole percent, at most one a second: percent, done and total, rate, ETA; for "
          + "logs), json (one JSON object per line: phase, done, total, unit, rate, etaSeconds) or none. "
          + "Default: auto.")
  private ProgressMode mode = ProgressMode.AUTO;

  /** A reporter for this command; close it when the operation ends so a bar is finished cleanly. */
  ProgressReporter reporter(VdeCommand vde) {
    return ProgressReporter.create(mode, vde.err(), vde.errIsTerminal());
  }
}
