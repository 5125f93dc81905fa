package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeNoSpaceException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One operation larger than what is left (an endless stream, a path deeper than the free inodes): refused with a
 * message that says what ran out and for what, not one that blames something else, and nothing left behind.
 */
class OutgrowingTheVolumeTest {
  @TempDir Path tmp;

  /** The refusal counts what the stream had filled when the volume ran out, not only the pieces it had finished. */
  @Test
  void anEndlessStreamsRefusalSaysHowMuchOfItWasStaged() throws IOException {
    try (VirtualDisk d = VirtualDisk.create(tmp.resolve("n.vde"), CreateOptions.ofSize(4 << 20))) {
      long free = d.info().freeBlocks();
      long payload = d.volume().payload();
      InputStream endless = new InputStream() {
        @Override
        public int read() {
          return 7;
        }

        @Override
        public int read(byte[] b, int off, int len) {
          Arrays.fill(b, off, off + len, (byte) 7);
          return len;
        }
      };
      assertThatThrownBy(() -> d.writeFile("/endless", endless))
          .isInstanceOf(VdeNoSpaceException.class)
          .hasMessageContaining("after " + free * payload + " bytes of it (" + free + " blocks)");
    }
  }

  @Test
  void anEndlessStreamIsRefusedAsItself_notBlamedOnOtherStreams() throws IOException {
    Path image = tmp.resolve("s.vde");
    try (VirtualDisk d = VirtualDisk.create(image, CreateOptions.ofSize(4 << 20))) {
      d.writeFile("/keep", new byte[] {1, 2, 3});
      long free = d.info().freeBlocks();
      long[] read = {0};
      InputStream endless = new InputStream() {
        @Override
        public int read() {
          read[0]++;
          return 7;
        }

        @Override
        public int read(byte[] b, int off, int len) {
          Arrays.fill(b, off, off + len, (byte) 7);
          read[0] += len;
          return len;
        }
      };
      assertThatThrownBy(() -> d.writeFile("/endless", endless))
          .isInstanceOf(VdeNoSpaceException.class)
          .hasMessageContaining("/endless")
          .hasMessageNotContaining("reserved by writes from streams");
      assertThat(read[0]).as("bytes read before the refusal").isLessThan(8L << 20);
      assertThat(d.exists("/endless")).isFalse();
      assertThat(d.info().freeBlocks()).isEqualTo(free);
      assertThat(d.verify(Progress.NONE).problems()).isEmpty();
    }
    try (VirtualDisk d = VirtualDisk.open(image)) {
      assertThat(d.readFile("/keep")).containsExactly(1, 2, 3);
    }
  }

  @Test
  void aPathDeeperThanTheFreeInodesSaysHowManyAreFree() throws IOException {
    try (VirtualDisk d = VirtualDisk.create(tmp.resolve("i.vde"), CreateOptions.ofSize(8 << 20).inodeCount(64))) {
      d.mkdir("/x");
      String deep = "/d".repeat(100);
      assertThatThrownBy(() -> d.mkdirs(deep))
          .isInstanceOf(VdeNoSpaceException.class)
          .hasMessageContaining("61 free")
          .hasMessageContaining("--inodes");
      assertThat(d.exists("/d")).isFalse();
      d.mkdirs("/d".repeat(10));
    }
  }
}
