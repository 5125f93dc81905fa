package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeNoSpaceException;
import dev.vde.testing.SeededBytes;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A write that needs exactly the blocks {@code info()} reports free (no new directory block, no extent chain)
 * fits, and one block more is refused and leaves no trace: the volume can be filled to its last block.
 */
class ExactFitTest {
  @TempDir
  Path tmp;

  private static VirtualDisk create(Path file, int bs) throws Exception {
    return VirtualDisk.create(file, CreateOptions.ofSize(bs == 65536 ? 8L << 20 : 4L << 20).blockSize(bs));
  }

  private static void assertClean(VirtualDisk d, String when) throws Exception {
    assertThat(d.verify(Progress.NONE).problems()).as(when).isEmpty();
  }

  @ParameterizedTest(name = "blockSize={0}")
  @ValueSource(ints = {512, 4096, 65536})
  void aNewFileOfExactlyTheFreeBlocksFits_andOneBlockMoreIsRefused(int bs) throws Exception {
    int payload = bs - 16;
    Path file = tmp.resolve("new.vde");
    byte[] exact;
    try (VirtualDisk d = create(file, bs)) {
      d.writeFile("/a", new byte[] {1});
      d.checkpoint();
      long free = d.info().freeBlocks();
      byte[] tooBig = SeededBytes.bytes(1, (int) ((free + 1) * payload - 5));
      assertThatThrownBy(() -> d.writeFile("/b", tooBig)).isInstanceOf(VdeNoSpaceException.class);
      assertThat(d.exists("/b")).isFalse();
      assertThat(d.info().freeBlocks()).isEqualTo(free);
      assertClean(d, "after the refused write");

      exact = SeededBytes.bytes(2, (int) (free * payload - 3));
      d.writeFile("/b", exact);
      assertThat(d.info().freeBlocks()).as("free blocks after filling the volume").isZero();
      assertThat(d.readFile("/b")).isEqualTo(exact);
      assertClean(d, "after filling the volume");
    }
    try (VirtualDisk d = VirtualDisk.open(file)) {
      assertThat(d.readFile("/b")).isEqualTo(exact);
      assertThat(d.readFile("/a")).containsExactly(1);
      assertClean(d, "after reopen");
    }
  }

  @ParameterizedTest(name = "blockSize={0}")
  @ValueSource(ints = {512, 4096, 65536})
  void appendsAndWritesAtAndPastTheEndOfExactlyTheFreeBlocksFit(int bs) throws Exception {
    int payload = bs - 16;
    Path file = tmp.resolve("append.vde");
    byte[] model;
    try (VirtualDisk d = create(file, bs)) {
      model = SeededBytes.bytes(3, payload);
      d.writeFile("/c", model);
      d.checkpoint();
      long free = d.info().freeBlocks();
      long third = free / 3;

      byte[] appended = SeededBytes.bytes(4, (int) (third * payload));
      d.append("/c", appended);
      model = concat(model, appended);

      // At the end of the file: the blocks continue the last extent.
      byte[] atEnd = SeededBytes.bytes(5, (int) (third * payload));
      d.write("/c", model.length, atEnd, 0, atEnd.length);
      model = concat(model, atEnd);
      d.checkpoint();

      // Past the end, leaving a hole of two blocks: one more extent, still inline.
      long rest = d.info().freeBlocks();
      byte[] past = SeededBytes.bytes(6, (int) (rest * payload));
      byte[] oneMore = SeededBytes.bytes(7, (int) (rest * payload + 1));
      long hole = 2L * payload;
      byte[] before = model;
      assertThatThrownBy(() -> d.write("/c", before.length + hole, oneMore, 0, oneMore.length))
          .isInstanceOf(VdeNoSpaceException.class);
      assertThat(d.readFile("/c")).isEqualTo(model);
      assertThat(d.info().freeBlocks()).isEqualTo(rest);

      d.write("/c", model.length + hole, past, 0, past.length);
      model = concat(concat(model, new byte[(int) hole]), past);
      assertThat(d.info().freeBlocks()).as("free blocks after filling the volume").isZero();
      assertThat(d.readFile("/c")).isEqualTo(model);
      assertClean(d, "after filling the volume");
    }
    try (VirtualDisk d = VirtualDisk.open(file)) {
      assertThat(d.readFile("/c")).isEqualTo(model);
      assertClean(d, "after reopen");
    }
  }

  @ParameterizedTest(name = "blockSize={0}")
  @ValueSource(ints = {512, 65536})
  void dataThatFitsButWhoseExtentChainDoesNot_isRefusedWithoutATrace(int bs) throws Exception {
    int payload = bs - 16;
    Path file = tmp.resolve("chain.vde");
    byte[] model = new byte[0];
    try (VirtualDisk d = create(file, bs)) {
      d.writeFile("/f", model);
      // Eight extents, each followed by a spacer's block: the next append cannot continue the eighth.
      for (int i = 0; i < 8; i++) {
        byte[] piece = SeededBytes.bytes(10 + i, payload);
        d.append("/f", piece);
        model = concat(model, piece);
        d.writeFile("/spacer" + i, new byte[] {(byte) i});
      }
      assertThat(d.stat("/f").extentCount()).isEqualTo(8);
      d.checkpoint();
      long free = d.info().freeBlocks();

      byte[] all = SeededBytes.bytes(20, (int) (free * payload));
      assertThatThrownBy(() -> d.append("/f", all)).isInstanceOf(VdeNoSpaceException.class);
      assertThat(d.readFile("/f")).isEqualTo(model);
      assertThat(d.stat("/f").extentCount()).isEqualTo(8);
      assertThat(d.info().freeBlocks()).isEqualTo(free);
      assertClean(d, "after the refused append");

      byte[] fits = SeededBytes.bytes(21, (int) ((free - 1) * payload));
      d.append("/f", fits);
      model = concat(model, fits);
      assertThat(d.stat("/f").extentCount()).isEqualTo(9);
      assertThat(d.info().freeBlocks()).isZero();
      assertClean(d, "after filling the volume");
    }
    try (VirtualDisk d = VirtualDisk.open(file)) {
      assertThat(d.readFile("/f")).isEqualTo(model);
      assertClean(d, "after reopen");
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
