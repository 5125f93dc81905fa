package dev.vde.cli;

/**
 * Text from a volume (file names, labels, tag keys and values) shown on a terminal. Names may hold any character
 * but '/' and NUL, so a newline in one would split a listing's line and an escape sequence would reach the
 * terminal; control characters are shown escaped instead ({@code \n}, {@code \t}, {@code \x1b}, ...), as
 * {@code ls -b} does, and so is a backslash ({@code \\}): otherwise a name holding a backslash and an {@code n}
 * would read as one holding a newline. JSON output carries the exact text.
 */
final class Printable {
  private Printable() {}

  static String of(String s) {
    if (s == null || s.codePoints().noneMatch(c -> c == '\\' || isControl(c))) {
      return s;
    }
    StringBuilder b = new StringBuilder(s.length() + 8);
    s.codePoints().forEach(c -> {
      if (c == '\\') {
        b.append("\\\\");
      } else if (c == '\n') {
        b.append("\\n");
      } else if (c == '\t') {
        b.append("\\t");
      } else if (c == '\r') {
        b.append("\\r");
      } else if (isControl(c)) {
        b.append(String.format("\\x%02x", c));
      } else {
        b.appendCodePoint(c);
      }
    });
    return b.toString();
  }

  static boolean isControl(int c) {
    return c < 0x20 || c == 0x7f || c >= 0x80 && c < 0xa0;
  }
}
