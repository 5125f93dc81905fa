package dev.vde.module;

import java.util.Locale;

/** The four ways to add a module, in the order the orchestrator prefers them (cheapest first). */
public enum AdditionOption {
  /** Option 2: claim inode padding (and add regions if the module has any). */
  PADDING,
  /** Option 1: add regions in one WAL transaction (fields, if any, into padding). */
  REGION,
  /** Option 3: grow every inode by background migration. */
  MIGRATE,
  /** Option 4: copy into a new volume that has the modules. */
  COPY;

  /** Lower-case name used on the command line and in JSON. */
  public String cliName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static AdditionOption parse(String s) {
    return valueOf(s.trim().toUpperCase(Locale.ROOT));
  }
}
