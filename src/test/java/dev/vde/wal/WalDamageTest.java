package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeReadOnlyException;
import dev.vde.check.VerifyReport;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.Superblock;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A WAL transaction damaged after it was acknowledged, with transactions committed after it: replay cannot go past
 * it, and a checkpoint would discard the later ones for good. Open must say so and stay read-only instead of
 * quietly coming back without them; a WAL that merely ends in a torn last transaction (a crash while writing it)
 * must still open normally.
 */
class WalDamageTest {
  private static final int BS = 4096;
  private static final int FILES = 5;

  @Test
  void damagedTransactionWithLaterOnes_opensReadOnlyAndSaysWhy() throws IOException {
    PowerLossDevice crashed = crashedWithTransactions();
    List<Long> descriptors = descriptors(crashed);
    assertThat(descriptors).as("one WAL transaction per file").hasSize(FILES);
    // Damage the first image of the second file's transaction: the third to fifth were committed after it.
    corrupt(crashed, descriptors.get(1) + 1);
    byte[] before = crashed.snapshot();

    try (VirtualDisk d = TestVolumes.open(crashed)) {
      assertThat(d.isReadOnly()).isTrue();
      assertThat(d.readOnlyReason()).contains("is damaged").contains("was committed after it")
          .contains("opened read-only so that they are not discarded");
      assertThat(d.info().warnings()).anySatisfy(w -> assertThat(w).contains("cannot be replayed"));
      // Everything before the damage is there.
      assertThat(d.readFile("/f0")).isEqualTo(SeededBytes.bytes(10, 900));
      assertThatThrownBy(() -> d.writeFile("/new", new byte[] {1})).isInstanceOf(VdeReadOnlyException.class);
      VerifyReport r = d.verify(Progress.NONE);
      assertThat(r.problems()).anySatisfy(p -> assertThat(p.toString()).contains("cannot be replayed"));
    }
    assertThat(crashed.snapshot()).as("nothing was discarded or rewritten").isEqualTo(before);
    // A read-only request does not hide the damage: the reason is the damage, not the request.
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage("again", before), OpenOptions.readOnlyOptions())) {
      assertThat(d.readOnlyReason()).contains("is damaged");
      // Nor does a copy, which would make a clean volume without the transactions that cannot be replayed.
      PowerLossDevice dest = new PowerLossDevice("copy");
      assertThatThrownBy(() -> dev.vde.module.copy.ExtentAwareCopy.copy(d, dest,
          dev.vde.module.copy.CopyOptions.defaults())).isInstanceOf(dev.vde.VdeCorruptedException.class)
          .hasMessageContaining("cannot be replayed").hasMessageContaining("so it is refused");
      assertThat(dest.size()).as("nothing written").isZero();
    }
  }

  @Test
  void tornLastTransaction_opensWritableWithoutTheDamageWarning() throws IOException {
    PowerLossDevice crashed = crashedWithTransactions();
    List<Long> descriptors = descriptors(crashed);
    corrupt(crashed, descriptors.get(FILES - 1) + 1);

    try (VirtualDisk d = TestVolumes.open(crashed)) {
      assertThat(d.isReadOnly()).isFalse();
      assertThat(d.info().warnings()).noneSatisfy(w -> assertThat(w).contains("cannot be replayed"));
      for (int i = 0; i < FILES - 1; i++) {
        assertThat(d.readFile("/f" + i)).isEqualTo(SeededBytes.bytes(10 + i, 900));
      }
      assertThat(d.exists("/f" + (FILES - 1))).as("the torn last transaction is not replayed").isFalse();
      TestVolumes.assertClean(d.verify(Progress.NONE), "after a torn last transaction");
    }
  }

  /** A volume whose WAL holds one durable transaction per file written since the last checkpoint. */
  private static PowerLossDevice crashedWithTransactions() throws IOException {
    PowerLossDevice made = new PowerLossDevice("wal damage");
    try (VirtualDisk d = VirtualDisk.create(made, CreateOptions.ofSize(8L << 20).blockSize(BS))) {
      d.mkdir("/dir");
    }
    // Closing closes the device; the session below runs on a device holding the closed image.
    PowerLossDevice dev = PowerLossDevice.fromImage("wal damage", made.snapshot());
    VirtualDisk d = TestVolumes.open(dev);
    long checkpoints = d.volume().journal().checkpoints();
    for (int i = 0; i < FILES; i++) {
      d.writeFile("/f" + i, SeededBytes.bytes(10 + i, 900));
    }
    assertThat(d.volume().journal().checkpoints()).as("no checkpoint among the writes").isEqualTo(checkpoints);
    PowerLossDevice crashed = dev.powerLoss(KeepPolicy.NONE);
    TestVolumes.closeQuietly(d);
    return crashed;
  }

  /** Block numbers of the current epoch's descriptors, in WAL order. */
  private static List<Long> descriptors(PowerLossDevice dev) throws IOException {
    Superblock sb = newest(dev);
    List<Long> out = new ArrayList<>();
    for (long p = 0; p < sb.walBlocks(); p++) {
      byte[] b = read(dev, sb.walStart() + p);
      if (BlockCodec.checksumMatches(b) && BlockCodec.storedTag(b) == BlockType.WAL_DESCRIPTOR.tag()
          && Bytes.i64(b, 8) == sb.walSalt()) {
        out.add(sb.walStart() + p);
      }
    }
    return out;
  }

  private static Superblock newest(PowerLossDevice dev) throws IOException {
    Superblock a = Superblock.read(read(dev, 0), 0, "test");
    Superblock b = Superblock.read(read(dev, 1), 1, "test");
    return a.sequence() > b.sequence() ? a : b;
  }

  private static void corrupt(PowerLossDevice dev, long blockNo) throws IOException {
    byte[] b = read(dev, blockNo);
    b[100] ^= 0x5A;
    dev.write(blockNo * BS, ByteBuffer.wrap(b));
    dev.sync();
  }

  private static byte[] read(PowerLossDevice dev, long blockNo) throws IOException {
    byte[] b = new byte[BS];
    dev.read(blockNo * BS, ByteBuffer.wrap(b));
    return b;
  }
}
