package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.Superblock;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Recovery accepts an image entry whose ref lies in the WAL region itself (only {@code ref < totalBlocks} is checked)
 * and the recovery checkpoint writes it there in place, over the very transaction being applied. A crash during that
 * checkpoint then leaves a WAL that no longer holds the transaction, while its other images are only partly in
 * place: the committed (acknowledged) transaction is lost or torn, contrary to DESIGN.md ("A crash during recovery
 * leaves the same superblock and WAL, so recovery runs again and does the same").
 */

/**
 * Replay used to accept an image for any block below totalBlocks, the WAL's own blocks and superblock slot 1
 * included. The checkpoint that applies a replay writes in block order, so an image aimed at the WAL overwrote the
 * transaction it belonged to before its later images were in place: a crash then lost a committed transaction,
 * which recovery must always be able to apply again. No engine writes such a ref, so a transaction holding one is
 * now treated as not committed, and recovery never writes the WAL region or slot 1 from an image.
 */
class RecoveryWritesWalRegionTest {
  private static final int BS = 512;

  @ParameterizedTest(name = "image aimed at {0}")
  @ValueSource(strings = {"the first WAL block", "the last WAL block", "superblock slot 1"})
  void aTransactionWithAnImageForTheWalOrSlotOneIsNotReplayedAndWritesNothingThere(String where)
      throws IOException {
    PowerLossDevice dev = new PowerLossDevice("wal target");
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(BS));
    byte[] a = SeededBytes.bytes(1, 300);
    d.writeFile("/a", a);
    d.checkpoint();
    d.writeFile("/c", SeededBytes.bytes(2, 100)); // its WAL transaction starts at WAL block 0
    byte[] image = dev.durableSnapshot();
    Superblock sb = current(image);
    long target = switch (where) {
      case "the first WAL block" -> sb.walStart();
      case "the last WAL block" -> sb.walStart() + sb.walBlocks() - 1;
      default -> 1;
    };

    // The engine's own transaction, encoded again with one more image: a sealed block for the target.
    List<BlockImage> images = new ArrayList<>();
    List<DataCheck> checks = new ArrayList<>();
    parse(image, sb, images, checks);
    assertThat(images).isNotEmpty();
    byte[] injected = new byte[BS];
    BlockCodec.seal(injected, BlockType.DATA, 0);
    images.add(new BlockImage(target, injected));
    byte[] enc = WalCodec.encode(BS, sb.checkpointTxId() + 1, sb.walSalt(), images, checks);
    System.arraycopy(enc, 0, image, (int) (sb.walStart() * BS), enc.length);
    byte[] before = Arrays.copyOfRange(image, (int) (target * BS), (int) ((target + 1) * BS));

    try (VirtualDisk r = VirtualDisk.open(PowerLossDevice.fromImage(image), OpenOptions.readOnlyOptions())) {
      assertThat(r.exists("/c")).as("the transaction is not replayed").isFalse();
      assertThat(r.readFile("/a")).isEqualTo(a);
    }
    PowerLossDevice rw = PowerLossDevice.fromImage(image);
    try (VirtualDisk w = VirtualDisk.open(rw, OpenOptions.defaults())) {
      assertThat(w.readFile("/a")).isEqualTo(a);
    }
    byte[] after = rw.durableSnapshot();
    byte[] there = Arrays.copyOfRange(after, (int) (target * BS), (int) ((target + 1) * BS));
    if (target == 1) {
      // The slot holds a superblock again (the open's checkpoint wrote it), never the injected block.
      assertThat(there).isNotEqualTo(injected);
      assertThat(Superblock.read(there, 1, "t").uuid()).isEqualTo(sb.uuid());
    } else {
      assertThat(there).as("the WAL block after a writable open").isEqualTo(before);
    }
    try (VirtualDisk r = VirtualDisk.open(PowerLossDevice.fromImage(after), OpenOptions.readOnlyOptions())) {
      assertThat(r.readFile("/a")).isEqualTo(a);
      assertThat(r.verify(Progress.NONE).problems()).isEmpty();
    }
  }

  private static Superblock current(byte[] img) throws IOException {
    return SuperblockSlots.load(PowerLossDevice.fromImage(img)).superblock();
  }

  /** The images and data checks of the WAL transaction at WAL block 0. */
  private static void parse(byte[] img, Superblock sb, List<BlockImage> images, List<DataCheck> checks) {
    long p = sb.walStart();
    while (true) {
      byte[] d = Arrays.copyOfRange(img, (int) (p * BS), (int) ((p + 1) * BS));
      assertThat(BlockCodec.storedTag(d)).isEqualTo(BlockType.WAL_DESCRIPTOR.tag());
      assertThat(Bytes.i64(d, 8)).isEqualTo(sb.walSalt());
      p++;
      long n = Bytes.u32(d, 16);
      int gen = (int) Bytes.i64(d, WalCodec.CHECK_GENERATION_OFFSET);
      for (int i = 0; i < n; i++) {
        long ref = Bytes.i64(d, WalCodec.DESCRIPTOR_HEADER + i * WalCodec.ENTRY_SIZE);
        long sum = Bytes.i64(d, WalCodec.DESCRIPTOR_HEADER + i * WalCodec.ENTRY_SIZE + 8);
        if ((ref & WalCodec.DATA_CHECK_FLAG) != 0) {
          checks.add(new DataCheck(ref & ~WalCodec.DATA_CHECK_FLAG, sum, gen));
        } else {
          images.add(new BlockImage(ref, Arrays.copyOfRange(img, (int) (p * BS), (int) ((p + 1) * BS))));
          p++;
        }
      }
      if ((Bytes.i32(d, 20) & WalCodec.FLAG_LAST) != 0) {
        return;
      }
    }
  }
}
