package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeFormatTooNewException;
import dev.vde.format.Superblock;
import dev.vde.testing.PowerLossDevice;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/**
 * Feature bits that a committed transaction set but that are still only in the WAL (no checkpoint yet) count as
 * much as bits in the superblock copies in place: an engine that does not know them must not replay them into a
 * volume it then uses as if they were not there (FORMAT.md, "To open a volume").
 */
class WalFeatureBitsTest {
  private static final int BS = 4096;

  /** A crashed volume with one file, whose last durable transaction (in the WAL only) set these feature bits. */
  private static PowerLossDevice crashedAfterSetting(long roCompat, long incompat) throws Exception {
    PowerLossDevice dev = new PowerLossDevice("walbits");
    VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(4L << 20).blockSize(BS));
    d.writeFile("/hello", new byte[] {1, 2, 3});
    d.mutate(t -> {
      Superblock s = t.sb;
      t.sb = new Superblock(s.formatMajor(), s.formatMinor(), s.blockSize(), s.inodeSize(), s.totalBlocks(),
          s.uuid(), s.createdMillis(), s.modifiedMillis(), s.sequence(), s.compat(), s.roCompat() | roCompat,
          s.incompat() | incompat, s.moduleManifest(), s.moduleConfig(), s.inodeCount(), s.inodesUsed(),
          s.freeBlocks(), s.regionDirStart(), s.regionDirBlocks(), s.walStart(), s.walBlocks(), s.checkpointTxId(),
          s.walSalt(), s.inodeTableInitBlocks(), s.label(), s.layout());
      return null;
    });
    PowerLossDevice crashed = dev.powerLoss(PowerLossDevice.KeepPolicy.NONE);
    for (int slot = 0; slot < 2; slot++) {
      byte[] b = new byte[BS];
      crashed.read((long) slot * BS, ByteBuffer.wrap(b));
      Superblock inPlace = Superblock.read(b, slot, "test");
      assertThat(inPlace.roCompat() & roCompat).as("slot %d in place", slot).isZero();
      assertThat(inPlace.incompat() & incompat).as("slot %d in place", slot).isZero();
    }
    return crashed;
  }

  @Test
  void anUnknownIncompatBitOnlyInTheWal_refusesTheOpenAndWritesNothing() throws Exception {
    PowerLossDevice dev = crashedAfterSetting(0, 1L << 20);
    byte[] before = dev.snapshot();
    assertThatThrownBy(() -> VirtualDisk.open(dev, OpenOptions.defaults()))
        .isInstanceOf(VdeFormatTooNewException.class)
        .hasMessageContaining("incompat bits 0x0000000000100000");
    assertThat(dev.snapshot()).as("nothing replayed in place").isEqualTo(before);
  }

  @Test
  void anUnknownRoCompatBitOnlyInTheWal_opensReadOnlyWithTheReplayInMemory() throws Exception {
    PowerLossDevice dev = crashedAfterSetting(1L << 9, 0);
    byte[] before = dev.snapshot();
    try (VirtualDisk d = VirtualDisk.open(dev, OpenOptions.defaults())) {
      assertThat(d.isReadOnly()).isTrue();
      assertThat(d.readOnlyReason()).contains("roCompat bits 0x0000000000000200");
      assertThat(d.readFile("/hello")).containsExactly(1, 2, 3);
    }
    assertThat(dev.snapshot()).as("a read-only open writes nothing").isEqualTo(before);
  }
}
