package dev.vde.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** Base of commands that only group subcommands ({@code vde module}, {@code vde tag}, {@code vde migrate}). */
abstract class CommandGroup implements Runnable {
  @Spec
  CommandSpec spec;

  /** The group alone is a usage error that names what it offers. */
  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "missing subcommand; one of: "
        + String.join(", ", spec.subcommands().keySet()));
  }
}
