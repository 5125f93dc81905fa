package dev.vde.cli;

/**
 * Paths inside a volume as the CLI accepts them: users may leave out the leading slash ({@code docs/a.txt})
 * or add a trailing one ({@code docs/}); the engine wants {@code /docs/a.txt} and {@code /docs}. A trailing slash
 * says the path names a directory, as in POSIX: a command that looks the path up passes it on with the slash
 * ({@link #absolute}), so that the engine refuses it on a file. Nothing else is changed: spaces are part of a name
 * (a host file {@code "report "} put into a directory keeps its name), so trimming them would make a path name
 * another file.
 */
final class VdePath {
  static final String ROOT = "/";

  private VdePath() {}

  static String normalize(String path) {
    String p = path;
    if (!p.startsWith("/")) {
      p = "/" + p;
    }
    while (p.length() > 1 && p.endsWith("/")) {
      p = p.substring(0, p.length() - 1);
    }
    return p;
  }

  /**
   * The path with its leading slash and at most one trailing slash, which stays when the user wrote one: for
   * looking up what the user named, where {@code /f/} must not find the file {@code /f}.
   */
  static String absolute(String path) {
    String p = normalize(path);
    return namesDirectory(path) && !ROOT.equals(p) ? p + "/" : p;
  }

  /** True when the user wrote a trailing slash, meaning "into this directory". */
  static boolean namesDirectory(String path) {
    return path.endsWith("/");
  }

  /** The parent of a normalized path; the root is its own parent. */
  static String parent(String path) {
    int slash = path.lastIndexOf('/');
    return slash <= 0 ? ROOT : path.substring(0, slash);
  }

  /** The last name of a normalized path; empty for the root. */
  static String name(String path) {
    return path.substring(path.lastIndexOf('/') + 1);
  }

  static String child(String directory, String name) {
    return ROOT.equals(directory) ? ROOT + name : directory + "/" + name;
  }
}
