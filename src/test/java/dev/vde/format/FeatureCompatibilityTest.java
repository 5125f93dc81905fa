package dev.vde.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeCorruptedException;
import dev.vde.VdeFormatTooNewException;
import dev.vde.VdeReadOnlyException;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import java.nio.ByteBuffer;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * What an engine does with a volume written by a newer one: unknown compat bits are ignored, unknown roCompat
 * bits open read-only with the reason, unknown incompat bits and a newer major version refuse to open.
 */
class FeatureCompatibilityTest {
  private static final int BS = 4096;

  /** A closed volume with one file whose both superblock copies were rewritten by {@code change}. */
  private static PowerLossDevice volumeWith(UnaryOperator<Superblock> change) throws Exception {
    PowerLossDevice made = new PowerLossDevice("compat");
    try (VirtualDisk d = VirtualDisk.create(made, CreateOptions.ofSize(4L << 20).blockSize(BS))) {
      d.writeFile("/hello", new byte[] {1, 2, 3});
    }
    PowerLossDevice dev = PowerLossDevice.fromImage("compat", made.snapshot());
    for (int slot = 0; slot < 2; slot++) {
      byte[] b = new byte[BS];
      dev.read((long) slot * BS, ByteBuffer.wrap(b));
      Superblock sb = Superblock.read(b, slot, "test");
      dev.write((long) slot * BS, ByteBuffer.wrap(change.apply(sb).write()));
    }
    dev.sync();
    return dev;
  }

  private static Superblock withMasks(Superblock s, long compat, long ro, long in) {
    return new Superblock(s.formatMajor(), s.formatMinor(), s.blockSize(), s.inodeSize(), s.totalBlocks(), s.uuid(),
        s.createdMillis(), s.modifiedMillis(), s.sequence(), s.compat() | compat, s.roCompat() | ro,
        s.incompat() | in, s.moduleManifest(), s.moduleConfig(), s.inodeCount(), s.inodesUsed(), s.freeBlocks(),
        s.regionDirStart(), s.regionDirBlocks(), s.walStart(), s.walBlocks(), s.checkpointTxId(), s.walSalt(),
        s.inodeTableInitBlocks(), s.label(), s.layout());
  }

  @Test
  void unknownCompatBit_isIgnored() throws Exception {
    PowerLossDevice dev = volumeWith(s -> withMasks(s, 1L << 7, 0, 0));
    try (VirtualDisk d = VirtualDisk.open(dev, OpenOptions.defaults())) {
      assertThat(d.isReadOnly()).isFalse();
      d.writeFile("/more", new byte[] {4});
      assertThat(d.readFile("/hello")).containsExactly(1, 2, 3);
    }
  }

  @Test
  void unknownRoCompatBit_opensReadOnlyAndSaysWhyOnEveryWrite() throws Exception {
    PowerLossDevice dev = volumeWith(s -> withMasks(s, 0, 1L << 9, 0));
    byte[] before = dev.snapshot();
    try (VirtualDisk d = VirtualDisk.open(dev, OpenOptions.defaults())) {
      assertThat(d.isReadOnly()).isTrue();
      assertThat(d.readOnlyReason()).isEqualTo("volume uses features this engine cannot keep up to date "
          + "(roCompat bits 0x0000000000000200); opened read-only; upgrade vde to write to it");
      assertThat(d.readFile("/hello")).containsExactly(1, 2, 3);
      assertThatThrownBy(() -> d.writeFile("/more", new byte[] {4}))
          .isInstanceOf(VdeReadOnlyException.class)
          .hasMessageContaining("volume is read-only: volume uses features this engine cannot keep up to date");
      assertThatThrownBy(() -> d.mkdir("/dir")).isInstanceOf(VdeReadOnlyException.class);
    }
    assertThat(dev.snapshot()).as("a read-only open writes nothing").isEqualTo(before);
    PowerLossDevice again = PowerLossDevice.fromImage("again", before);
    assertThatThrownBy(() -> VirtualDisk.open(again, OpenOptions.defaults().requireWritable(true)))
        .isInstanceOf(VdeReadOnlyException.class).hasMessageContaining("cannot be opened writable")
        .hasMessageContaining("roCompat bits 0x0000000000000200");
    assertThat(again.snapshot()).as("a refused open writes nothing").isEqualTo(before);
  }

  @Test
  void unknownIncompatBit_refusesToOpenNamingTheBits() throws Exception {
    PowerLossDevice dev = volumeWith(s -> withMasks(s, 0, 0, 1L << 20));
    assertThatThrownBy(() -> VirtualDisk.open(dev, OpenOptions.defaults()))
        .isInstanceOf(VdeFormatTooNewException.class)
        .hasMessageContaining("incompat bits 0x0000000000100000");
    assertThatThrownBy(() -> VirtualDisk.open(dev, OpenOptions.readOnlyOptions()))
        .isInstanceOf(VdeFormatTooNewException.class);
  }

  @Test
  void newerMajorVersion_refusesToOpen() throws Exception {
    PowerLossDevice dev = volumeWith(s -> new Superblock(s.formatMajor() + 1, 0, s.blockSize(), s.inodeSize(),
        s.totalBlocks(), s.uuid(), s.createdMillis(), s.modifiedMillis(), s.sequence(), s.compat(), s.roCompat(),
        s.incompat(), s.moduleManifest(), s.moduleConfig(), s.inodeCount(), s.inodesUsed(), s.freeBlocks(),
        s.regionDirStart(), s.regionDirBlocks(), s.walStart(), s.walBlocks(), s.checkpointTxId(), s.walSalt(),
        s.inodeTableInitBlocks(), s.label(), s.layout()));
    assertThatThrownBy(() -> VirtualDisk.open(dev, OpenOptions.defaults()))
        .isInstanceOf(VdeFormatTooNewException.class).hasMessageContaining("format version 2.0");
  }

  @Test
  void incompleteCopyMark_refusesToOpen() throws Exception {
    PowerLossDevice dev = volumeWith(s -> withMasks(s, 0, 0, Superblock.INCOMPAT_INCOMPLETE_COPY));
    assertThatThrownBy(() -> VirtualDisk.open(dev, OpenOptions.defaults()))
        .isInstanceOf(VdeCorruptedException.class).hasMessageContaining("incomplete copy");
  }

  @Test
  void knownModuleBits_openNormally() throws Exception {
    long all = Superblock.KNOWN_COMPAT | Superblock.KNOWN_RO_COMPAT;
    PowerLossDevice dev = volumeWith(s -> withMasks(s, Superblock.KNOWN_COMPAT, Superblock.KNOWN_RO_COMPAT, 0));
    try (VirtualDisk d = VirtualDisk.open(dev, OpenOptions.defaults())) {
      assertThat(d.isReadOnly()).as("bits 0x%x are all known", all).isFalse();
    }
  }
}
