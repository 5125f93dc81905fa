package dev.vde.module.copy;

import static dev.vde.module.copy.CopyFixtures.BS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeFormatTooNewException;
import dev.vde.format.Module;
import dev.vde.format.Superblock;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.AdditionOption;
import dev.vde.module.ModulePlanner;
import dev.vde.testing.SeededBytes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A volume written by a newer engine may carry compat or roCompat features this engine does not know. It still
 * opens (read-only for roCompat), but a copy would rebuild only the structures this engine knows and drop the
 * rest, so the copy is refused before anything is written and the planner does not offer it.
 */
class CopyUnknownFeaturesTest {
  @TempDir
  Path tmp;

  @Test
  void unknownCompatBit_copyIsRefusedAndNothingIsWritten() throws Exception {
    Path src = sourceWith(1L << 7, 0);
    Path dst = tmp.resolve("dst.vde");
    byte[] before = Files.readAllBytes(src);
    assertThatThrownBy(() -> ExtentAwareCopy.copy(src, dst, CopyOptions.defaults()))
        .isInstanceOf(VdeFormatTooNewException.class)
        .hasMessageContaining("compat bits 0x0000000000000080")
        .hasMessageContaining("a copy would drop them");
    assertThat(dst).doesNotExist();
    assertThat(Files.readAllBytes(src)).as("the source is only read").isEqualTo(before);
  }

  @Test
  void unknownRoCompatBit_copyIsRefused() throws Exception {
    Path src = sourceWith(0, 1L << 9);
    Path dst = tmp.resolve("dst.vde");
    assertThatThrownBy(() -> ExtentAwareCopy.copy(src, dst, CopyOptions.defaults().modulesToAdd(
        java.util.EnumSet.of(Module.TAGS))))
        .isInstanceOf(VdeFormatTooNewException.class)
        .hasMessageContaining("roCompat bits 0x0000000000000200");
    assertThat(dst).doesNotExist();
  }

  @Test
  void unknownCompatBit_plannerMarksTheCopyOptionInfeasible() throws Exception {
    Path src = sourceWith(1L << 7, 0);
    try (VirtualDisk d = VirtualDisk.open(src, OpenOptions.readOnlyOptions())) {
      ModulePlanner.OptionAnalysis copy = ModulePlanner.analyze(d, List.of(Module.TAGS)).option(AdditionOption.COPY);
      assertThat(copy.feasible()).isFalse();
      assertThat(copy.reason()).contains("compat bits 0x0000000000000080");
      assertThat(copy.recommended()).isFalse();
    }
  }

  @Test
  void knownFeaturesOnly_copies() throws Exception {
    Path src = sourceWith(0, 0);
    Path dst = tmp.resolve("dst.vde");
    ExtentAwareCopy.copy(src, dst, CopyOptions.defaults());
    try (VirtualDisk c = VirtualDisk.open(dst)) {
      assertThat(c.readFile("/x")).isEqualTo(SeededBytes.bytes(3, 5000));
    }
  }

  /** A closed volume with one file whose superblock slots both carry the extra feature bits. */
  private Path sourceWith(long compat, long roCompat) throws IOException {
    Path src = tmp.resolve("src.vde");
    try (VirtualDisk d = CopyFixtures.create(src, 8L << 20)) {
      d.writeFile("/x", SeededBytes.bytes(3, 5000));
    }
    try (FileChannel ch = FileChannel.open(src, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      for (int slot = 0; slot < 2; slot++) {
        ByteBuffer b = ByteBuffer.allocate(BS);
        ch.read(b, (long) slot * BS);
        Superblock s = Superblock.read(b.array(), slot, src.toString());
        Superblock t = new Superblock(s.formatMajor(), s.formatMinor(), s.blockSize(), s.inodeSize(),
            s.totalBlocks(), s.uuid(), s.createdMillis(), s.modifiedMillis(), s.sequence(), s.compat() | compat,
            s.roCompat() | roCompat, s.incompat(), s.moduleManifest(), s.moduleConfig(), s.inodeCount(),
            s.inodesUsed(), s.freeBlocks(), s.regionDirStart(), s.regionDirBlocks(), s.walStart(), s.walBlocks(),
            s.checkpointTxId(), s.walSalt(), s.inodeTableInitBlocks(), s.label(), s.layout());
        ch.write(ByteBuffer.wrap(t.write()), (long) slot * BS);
      }
      ch.force(true);
    }
    return src;
  }
}
