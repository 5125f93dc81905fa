package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.Superblock;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The two superblock copies of one checkpoint are the same superblock but for the sequence (FORMAT.md section 5),
 * and open falls back to the older one when the newest is lost, taking its fields as they are. A copy of the
 * newest epoch that differs in anything else (damaged under a valid checksum, or written by something else) was
 * taken for a sound one: open said nothing and a writable open left it, one lost block away from an open with,
 * say, an inode-table watermark that makes live inodes free. Such a copy is now treated like one of an older epoch.
 */
class SuperblockTwinMismatchTest {
  private static final int BS = 4096;

  @Test
  void anOlderCopyOfTheSameCheckpointThatDiffers_isReportedAndRewrittenByAWritableOpen() throws IOException {
    PowerLossDevice made = new PowerLossDevice("twins");
    try (VirtualDisk d = VirtualDisk.create(made, CreateOptions.ofSize(8L << 20).blockSize(BS))) {
      for (int i = 0; i < 40; i++) {
        d.writeFile("/f" + i, SeededBytes.bytes(i, 100));
      }
    }
    byte[] image = made.snapshot();
    Superblock s0 = Superblock.read(Arrays.copyOfRange(image, 0, BS), 0, "test");
    Superblock s1 = Superblock.read(Arrays.copyOfRange(image, BS, 2 * BS), 1, "test");
    assertThat(s0.walSalt()).as("a closed volume: both copies name one checkpoint").isEqualTo(s1.walSalt());
    int older = s0.sequence() < s1.sequence() ? 0 : 1;
    byte[] b = Arrays.copyOfRange(image, older * BS, (older + 1) * BS);
    Bytes.put64(b, 176, 0); // inodeTableInitBlocks
    BlockCodec.seal(b, BlockType.SUPERBLOCK, BlockCodec.storedGeneration(b));
    System.arraycopy(b, 0, image, older * BS, BS);

    try (VirtualDisk r = VirtualDisk.open(PowerLossDevice.fromImage(image), OpenOptions.readOnlyOptions())) {
      assertThat(r.info().warnings()).anySatisfy(w -> assertThat(w).contains("block " + older)
          .contains("inodeTableInitBlocks").contains("will be repaired"));
    }
    PowerLossDevice rw = PowerLossDevice.fromImage(image);
    try (VirtualDisk w = VirtualDisk.open(rw, OpenOptions.defaults())) {
      assertThat(w.info().warnings()).anySatisfy(x -> assertThat(x).contains("block " + older).contains("repaired"));
    }
    byte[] after = rw.snapshot();
    Superblock a0 = Superblock.read(Arrays.copyOfRange(after, 0, BS), 0, "test");
    Superblock a1 = Superblock.read(Arrays.copyOfRange(after, BS, 2 * BS), 1, "test");
    assertThat(a0.inodeTableInitBlocks()).isEqualTo(a1.inodeTableInitBlocks())
        .isEqualTo(s0.sequence() < s1.sequence() ? s1.inodeTableInitBlocks() : s0.inodeTableInitBlocks());
    try (VirtualDisk r = VirtualDisk.open(PowerLossDevice.fromImage(after), OpenOptions.readOnlyOptions())) {
      assertThat(r.info().warnings()).isEmpty();
      assertThat(r.readFile("/f39")).isEqualTo(SeededBytes.bytes(39, 100));
    }
  }
}
