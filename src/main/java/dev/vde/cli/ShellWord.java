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
   * that starts with '-' (which vde, like most commands, would take for an option) as {@code ./} and the name. A
   * name with a control character in it is written in bash's {@code $'...'} quoting, its control characters as
   * escapes: the word then stays on one printable line and still names that file. The result is printable as it
   * is, and must not be escaped again ({@link Printable}), which would change the name it gives.
   */
  static String of(String s) {
    if (s.startsWith("-")) {
      s = "./" + s;
    }
    if (!s.isEmpty() && s.chars().allMatch(c -> Character.isLetterOrDigit(c) || "._/-+:@%,=".indexOf(c) >= 0)) {
      return s;
    }
    if (s.codePoints().anyMatch(Printable::isControl)) {
      return ansiC(s);
    }
    return '"' + s.replaceAll("([\\\\\"$`])", "\\\\$1") + '"';
  }

  private static String ansiC(String s) {
    StringBuilder b = new StringBuilder("$'");
    s.codePoints().forEach(c -> {
      if (c == '\\' || c == '\'') {
        b.append('\\').append((char) c);
      } else if (c == '\n') {
        b.append("\\n");
      } else if (c == '\t') {
        b.append("\\t");
      } else if (c == '\r') {
        b.append("\\r");
      } else if (c < 0x80 && Printable.isControl(c)) {
        b.append(String.format("\\x%02x", c));
      } else if (Printable.isControl(c)) {
        // \x would insert the raw byte, not the character's UTF-8 encoding.
        b.append(String.format("\\u%04x", c));
      } else {
        b.appendCodePoint(c);
      }
    });
    return b.append('\'').toString();
  }
}
