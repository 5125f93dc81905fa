package dev.vde.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Tells whether stderr is a terminal, which decides whether {@code --progress=auto} draws a bar. Java has no
 * isatty for one stream: {@link System#console()} needs stdin and stdout to be terminals too, so it says no for
 * {@code vde get img /f - > out}, exactly when a bar on stderr is most welcome. Hence the order: what the
 * launcher script found with {@code [ -t 2 ]}, then where Linux says file descriptor 2 points, then the console.
 */
final class Terminal {
  static final String PROPERTY = "vde.stderrIsTerminal";

  private Terminal() {}

  static boolean isStderrTerminal() {
    String told = System.getProperty(PROPERTY);
    if (told != null) {
      return Boolean.parseBoolean(told);
    }
    Path fd2 = Path.of("/proc/self/fd/2");
    if (Files.isSymbolicLink(fd2)) {
      try {
        String target = Files.readSymbolicLink(fd2).toString();
        return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
      } catch (IOException | SecurityException e) {
        // Fall through to the console check.
      }
    }
    return System.console() != null;
  }
}
