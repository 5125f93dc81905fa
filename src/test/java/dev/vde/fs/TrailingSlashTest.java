package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeInvalidArgumentException;
import dev.vde.VdeNotFoundException;
import dev.vde.format.Module;
import dev.vde.module.Tags;
import dev.vde.testing.PowerLossDevice;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

/**
 * A path ending in '/' names a directory, as in POSIX: on a file it fails as a file in the middle of a path does,
 * no file is created or moved to one, and on a directory it works as without the slash.
 */
class TrailingSlashTest {
  private static final byte[] CONTENT = {1, 2, 3};

  private static VirtualDisk volume() throws Exception {
    VirtualDisk d = VirtualDisk.create(new PowerLossDevice("slash"), CreateOptions.ofSize(4L << 20)
        .module(Module.TAGS));
    d.writeFile("/f", CONTENT);
    d.mkdir("/d");
    d.writeFile("/d/x", CONTENT);
    return d;
  }

  private static void notADirectory(ThrowingCallable call, String path) {
    assertThatThrownBy(call).as(path).isInstanceOf(VdeNotFoundException.class)
        .hasMessageContaining(path + ": " + path.replaceAll("/+$", "") + " is not a directory");
  }

  // readFile("/f/") read the file /f, where POSIX says ENOTDIR; so did every other operation.
  @Test
  void aFileNamedWithATrailingSlash_isNotADirectory_forEveryOperation() throws Exception {
    try (VirtualDisk d = volume()) {
      Tags.set(d, "/f", "k", "v");
      for (String p : List.of("/f/", "/f//", "/d/x/")) {
        notADirectory(() -> d.readFile(p), p);
        notADirectory(() -> d.readFile(p, new ByteArrayOutputStream()), p);
        notADirectory(() -> d.read(p, 0, new byte[4], 0, 4), p);
        notADirectory(() -> d.stat(p), p);
        notADirectory(() -> d.list(p), p);
        notADirectory(() -> d.listEntries(p), p);
        notADirectory(() -> d.write(p, 0, new byte[] {9}, 0, 1), p);
        notADirectory(() -> d.append(p, new byte[] {9}), p);
        notADirectory(() -> d.truncate(p, 0), p);
        notADirectory(() -> d.writeFile(p, new byte[] {9}), p);
        notADirectory(() -> d.writeFile(p, new ByteArrayInputStream(new byte[] {9})), p);
        notADirectory(() -> d.delete(p), p);
        notADirectory(() -> d.deleteRecursively(p), p);
        notADirectory(() -> d.rename(p, "/g"), p);
        notADirectory(() -> d.readModuleField(p, Module.TAGS), p);
        notADirectory(() -> Tags.set(d, p, "k", "w"), p);
        assertThat(d.exists(p)).as(p).isFalse();
      }
      notADirectory(() -> d.rename("/d/x", "/f/"), "/f/");
      notADirectory(() -> d.rename("/f", "/f/"), "/f/");
      assertThat(d.readFile("/f")).isEqualTo(CONTENT);
      assertThat(d.readFile("/d/x")).isEqualTo(CONTENT);
      assertThat(Tags.list(d, "/f")).containsEntry("k", "v");
      assertThat(d.exists("/g")).isFalse();
    }
  }

  // writeFile("/new/") created a file named "new".
  @Test
  void noFileIsCreatedOrMovedToAPathEndingInASlash() throws Exception {
    try (VirtualDisk d = volume()) {
      assertThatThrownBy(() -> d.writeFile("/new/", CONTENT)).isInstanceOf(VdeInvalidArgumentException.class)
          .hasMessageContaining("/new/: a path ending in '/' names a directory");
      assertThatThrownBy(() -> d.writeFile("/new/", new ByteArrayInputStream(CONTENT)))
          .isInstanceOf(VdeInvalidArgumentException.class);
      assertThatThrownBy(() -> d.writeFile("/d/new/", new ByteArrayInputStream(new byte[1 << 20])))
          .isInstanceOf(VdeInvalidArgumentException.class);
      assertThatThrownBy(() -> d.rename("/f", "/new/")).isInstanceOf(VdeInvalidArgumentException.class)
          .hasMessageContaining("/new/: a path ending in '/' names a directory");
      assertThat(d.exists("/new")).isFalse();
      assertThat(d.exists("/d/new")).isFalse();
      assertThat(d.readFile("/f")).isEqualTo(CONTENT);
      assertThat(d.list("/").stream().map(DirEntry::name)).containsExactly("d", "f");
    }
  }

  @Test
  void aDirectoryNamedWithATrailingSlash_worksAsWithout() throws Exception {
    try (VirtualDisk d = volume()) {
      assertThat(d.stat("/d/").type()).isEqualTo(FileType.DIRECTORY);
      assertThat(d.exists("/d/")).isTrue();
      assertThat(d.list("/d/").stream().map(DirEntry::path)).containsExactly("/d/x");
      d.mkdir("/m/");
      d.mkdirs("/m/n/o/");
      d.rename("/m/", "/e/");
      assertThat(d.stat("/e/n/o").type()).isEqualTo(FileType.DIRECTORY);
      d.delete("/e/n/o/");
      d.deleteRecursively("/e/");
      d.rename("/d/", "/d2");
      assertThat(d.readFile("/d2/x")).isEqualTo(CONTENT);
      assertThat(d.list("/").stream().map(DirEntry::name)).containsExactly("d2", "f");
      assertThat(d.verify(dev.vde.Progress.NONE).problems()).isEmpty();
    }
  }
}
