package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeInvalidArgumentException;
import dev.vde.VdeNotFoundException;
import dev.vde.testing.PowerLossDevice;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

/**
 * A file where a directory is needed. Along a path it was "not found" ({@code VdeNotFoundException}), but where
 * the operation itself needed the directory, a listing of a file or {@code mkdirs} over or through one, it was an
 * invalid argument, and {@code mkdirs} named only the component. It is one answer now, as {@code ENOTDIR} is in
 * POSIX: {@link VdeNotFoundException} "PATH: COMPONENT is not a directory", naming the component that is a file.
 */
class NotADirectoryTest {
  private static final byte[] CONTENT = {1, 2, 3};

  private static VirtualDisk volume() throws Exception {
    VirtualDisk d = VirtualDisk.create(new PowerLossDevice("notdir"), CreateOptions.ofSize(4L << 20));
    d.mkdirs("/d");
    d.mkdir("/e");
    d.writeFile("/f", CONTENT);
    d.writeFile("/d/f", CONTENT);
    return d;
  }

  private static void notADirectory(ThrowingCallable call, String path, String file) {
    assertThatThrownBy(call).as(path).isExactlyInstanceOf(VdeNotFoundException.class)
        .hasMessage(path + ": " + file + " is not a directory");
  }

  // list("/f") and mkdirs("/f/x") were VdeInvalidArgumentException, mkdir("/f/x") VdeNotFoundException.
  @Test
  void aFileWhereADirectoryIsNeeded_isNotADirectory_whereverItIs() throws Exception {
    try (VirtualDisk d = volume()) {
      for (String file : List.of("/f", "/d/f")) {
        // The operation names the file itself as a directory.
        notADirectory(() -> d.list(file), file, file);
        notADirectory(() -> d.listEntries(file), file, file);
        notADirectory(() -> d.mkdirs(file), file, file);
        // The file is in the middle of the path.
        for (String below : List.of(file + "/x", file + "/x/y")) {
          notADirectory(() -> d.mkdirs(below), below, file);
          notADirectory(() -> d.mkdir(below), below, file);
          notADirectory(() -> d.list(below), below, file);
          notADirectory(() -> d.listEntries(below), below, file);
          notADirectory(() -> d.readFile(below), below, file);
          notADirectory(() -> d.readFile(below, new ByteArrayOutputStream()), below, file);
          notADirectory(() -> d.stat(below), below, file);
          notADirectory(() -> d.writeFile(below, CONTENT), below, file);
          notADirectory(() -> d.writeFile(below, new ByteArrayInputStream(CONTENT)), below, file);
          notADirectory(() -> d.write(below, 0, CONTENT, 0, 1), below, file);
          notADirectory(() -> d.truncate(below, 0), below, file);
          notADirectory(() -> d.delete(below), below, file);
          notADirectory(() -> d.deleteRecursively(below), below, file);
          notADirectory(() -> d.rename(below, "/g"), below, file);
          notADirectory(() -> d.rename("/e", below), below, file);
          assertThat(d.exists(below)).as(below).isFalse();
        }
      }
      assertThat(d.readFile("/f")).isEqualTo(CONTENT);
      assertThat(d.readFile("/d/f")).isEqualTo(CONTENT);
      assertThat(d.list("/d").stream().map(DirEntry::name)).containsExactly("f");
    }
  }

  /**
   * What stays an invalid argument: a name that is taken (mkdir of an existing file), and a directory where a
   * file is needed ("is a directory"), which is not this case.
   */
  @Test
  void anExistingName_andADirectoryWhereAFileIsNeeded_stayInvalidArguments() throws Exception {
    try (VirtualDisk d = volume()) {
      assertThatThrownBy(() -> d.mkdir("/f")).isExactlyInstanceOf(VdeInvalidArgumentException.class)
          .hasMessage("/f already exists");
      assertThatThrownBy(() -> d.readFile("/d")).isExactlyInstanceOf(VdeInvalidArgumentException.class)
          .hasMessage("/d is a directory");
      // mkdirs over a directory is fine, as before.
      d.mkdirs("/d");
      assertThat(d.stat("/d").type()).isEqualTo(FileType.DIRECTORY);
    }
  }
}
