package dev.vde.module;

import java.util.Locale;

/**
 * The four ways to add a module, listed in the order the orchestrator prefers them (cheapest first). The option
 * numbers in the comments are those the four were first specified with (1 regions, 2 padding, 3 migration, 4
 * copy), which is not that order: claiming padding costs less than adding regions, since a module with regions
 * gets them either way. DESIGN.md names them instead of numbering them.
 */
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

  /**
   * The option named {@code s} ({@link #cliName}, any case).
   *
   * @throws IllegalArgumentException naming the valid names, when {@code s} is none of them
   */
  public static AdditionOption parse(String s) {
    for (AdditionOption o : values()) {
      if (o.cliName().equalsIgnoreCase(s.trim())) {
        return o;
      }
    }
    throw new IllegalArgumentException("unknown addition option '" + s + "'; expected padding, region, migrate or "
        + "copy");
  }
}
