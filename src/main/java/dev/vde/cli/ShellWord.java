package dev.vde.cli;

import java.nio.file.Path;

/**
 * A file name written into a command the user is told to run ("Resume with: vde migrate resume IMAGE"), so that
 * pasted into a shell it reaches vde as that one name.
 */
final class ShellWord {
  private ShellWord() {}

  /** {@link #of(String)} of the path as given. */
  static String of(Path p) {
    return of(p.toString());
  }

  /**
   * {@code s} as one shell word naming a file: as it is when it needs no quoting, else in double quotes; a name
   * that starts with '-' (which vde, like most commands, would take for an option) as {@code ./} and the name.
   */
  static String of(String s) {
    if (s.startsWith("-")) {
      s = "./" + s;
    }
    if (!s.isEmpty() && s.chars().allMatch(c -> Character.isLetterOrDigit(c) || "._/-+:@%,=".indexOf(c) >= 0)) {
      return s;
    }
    return '"' + s.replaceAll("([\\\\\"$`])", "\\\\$1") + '"';
  }
}
