package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeInvalidArgumentException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Requests the engine refuses up front, with its own exception and nothing left behind. */
class VirtualDiskArgumentsTest {
  @TempDir
  Path tmp;

  @ParameterizedTest
  @ValueSource(longs = {-1, 1, 7})
  void aWalBelowTheFormatsMinimumIsRefusedAtCreate(long walBlocks) {
    Path p = tmp.resolve("w" + walBlocks + ".vde");
    assertThatThrownBy(() -> VirtualDisk.create(p, CreateOptions.ofSize(16L << 20).walBlocks(walBlocks)))
        .isInstanceOf(VdeInvalidArgumentException.class)
        .hasMessageContaining("metadata WAL of " + walBlocks + " blocks")
        .hasMessageContaining("at least 8");
    assertThat(p).doesNotExist();
  }

  @Test
  void theSmallestWalAllowedMakesAUsableVolume() throws Exception {
    Path p = tmp.resolve("w8.vde");
    try (VirtualDisk d = VirtualDisk.create(p, CreateOptions.ofSize(16L << 20).walBlocks(8))) {
      d.mkdir("/d");
      d.writeFile("/d/f", new byte[3000]);
    }
    try (VirtualDisk d = VirtualDisk.open(p)) {
      assertThat(d.readFile("/d/f")).hasSize(3000);
    }
  }

  @Test
  void aNegativeInodeCountIsRefusedAtCreate() {
    Path p = tmp.resolve("i.vde");
    assertThatThrownBy(() -> VirtualDisk.create(p, CreateOptions.ofSize(16L << 20).inodeCount(-5)))
        .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("inode count -5");
    assertThat(p).doesNotExist();
  }

  @Test
  void deletingTheRootRecursivelyIsRefusedAndDeletesNothing() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(tmp.resolve("r.vde"), CreateOptions.ofSize(16L << 20))) {
      d.mkdir("/a");
      d.writeFile("/a/f", new byte[] {1});
      d.writeFile("/g", new byte[] {2});
      for (String root : new String[] {"/", "//"}) {
        assertThatThrownBy(() -> d.deleteRecursively(root)).isInstanceOf(VdeInvalidArgumentException.class)
            .hasMessageContaining("root directory");
      }
      assertThat(d.readFile("/a/f")).containsExactly(1);
      assertThat(d.readFile("/g")).containsExactly(2);
      d.deleteRecursively("/a");
      assertThat(d.exists("/a")).isFalse();
      assertThat(Files.exists(tmp.resolve("r.vde"))).isTrue();
    }
  }
}
