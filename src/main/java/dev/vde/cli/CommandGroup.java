package dev.vde.cli;

import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** Base of commands that only group subcommands ({@code vde module}, {@code vde tag}, {@code vde migrate}). */
abstract class CommandGroup implements Runnable {
  @Spec
  CommandSpec spec;

  /**
   * The subcommands, in the order help lists them. {@link Main} adds them rather than the annotation, so that a
   * run adds only the one it executes: building each one's model from its annotations costs start-up time.
   */
  abstract List<Class<?>> subcommands();

  /** The group alone is a usage error that names what it offers. */
  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "missing subcommand; one of: "
        + String.join(", ", spec.subcommands().keySet()));
  }
}
