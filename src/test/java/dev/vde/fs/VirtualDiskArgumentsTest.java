package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeInvalidArgumentException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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

  // Ranges compared as off + len overflowed an int and let a raw ArrayIndexOutOfBoundsException through.
  @Test
  void aReadRangeWhoseEndOverflowsAnIntIsRefused() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(tmp.resolve("rr.vde"), CreateOptions.ofSize(16L << 20))) {
      d.writeFile("/f", new byte[100]);
      assertThatThrownBy(() -> d.read("/f", 0, new byte[10], 1, Integer.MAX_VALUE))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("bad read range");
      assertThatThrownBy(() -> d.read("/f", 0, null, 0, 1)).isInstanceOf(VdeInvalidArgumentException.class);
      byte[] buf = new byte[10];
      assertThat(d.read("/f", 0, buf, 9, 1)).isEqualTo(1);
    }
  }

  @Test
  void aWriteRangeWhoseEndOverflowsAnIntIsRefusedAndChangesNothing() throws Exception {
    // Large (sparse) enough that the 2 GiB the bad length claims would pass the space check.
    try (VirtualDisk d = VirtualDisk.create(tmp.resolve("wr.vde"), CreateOptions.ofSize(3L << 30))) {
      d.writeFile("/f", new byte[] {1, 2, 3});
      assertThatThrownBy(() -> d.write("/f", 0, new byte[10], 1, Integer.MAX_VALUE))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("bad write range");
      assertThatThrownBy(() -> d.write("/f", 0, null, 0, 0)).isInstanceOf(VdeInvalidArgumentException.class);
      assertThat(d.readFile("/f")).containsExactly(1, 2, 3);
      assertThat(d.verify(dev.vde.Progress.NONE).problems()).isEmpty();
    }
  }

  @Test
  void aCommitWindowBeyondTheMaximumIsRefused() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(tmp.resolve("cw.vde"), CreateOptions.ofSize(16L << 20))) {
      // Far beyond: Duration.toNanos would overflow.
      assertThatThrownBy(() -> d.setCommitWindow(Duration.ofDays(365L * 1000)))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("longer than");
      assertThatThrownBy(() -> d.setCommitWindow(VirtualDisk.MAX_COMMIT_WINDOW.plusNanos(1)))
          .isInstanceOf(VdeInvalidArgumentException.class);
      assertThat(d.commitWindow()).isEqualTo(Duration.ZERO);
      d.setCommitWindow(VirtualDisk.MAX_COMMIT_WINDOW);
      assertThat(d.commitWindow()).isEqualTo(VirtualDisk.MAX_COMMIT_WINDOW);
    }
  }
}
