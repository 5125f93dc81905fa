package dev.vde.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;

/** What a command keeps of a host file it replaces by writing a new one and renaming it over the old. */
public final class HostFiles {
  private HostFiles() {}

  /**
   * Gives {@code replacement} the permissions of {@code old}, and its owner and group where this process may
   * (as root). Without this a replaced file would take the defaults of a new one: a private file could become
   * world-readable, or owned by someone else. Nothing to do when {@code old} does not exist.
   */
  public static void keepAttributes(Path old, Path replacement) throws IOException {
    if (!Files.exists(old)) {
      return;
    }
    PosixFileAttributeView view = Files.getFileAttributeView(replacement, PosixFileAttributeView.class);
    if (view == null) {
      return;
    }
    PosixFileAttributes was = Files.readAttributes(old, PosixFileAttributes.class);
    try {
      view.setGroup(was.group());
      view.setOwner(was.owner());
    } catch (IOException | SecurityException e) {
      // Not permitted for an ordinary user, and not needed then: the user owns what they replace.
    }
    view.setPermissions(was.permissions());
  }
}
