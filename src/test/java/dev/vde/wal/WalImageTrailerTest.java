package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.Superblock;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * A WAL image is replayed only if its tag and generation are the ones written, not just its payload checksum. A
 * block of an unacknowledged transaction lost in a crash can leave at its place in the WAL an older block (from an
 * earlier WAL epoch) with the same payload: a zero-filled data image in place of an emptied directory block, say.
 * By the checksum alone recovery took it and wrote it over a live block of another kind or owner.
 */
class WalImageTrailerTest {
  private static final int BS = 512;

  private interface Op {
    void run(VirtualDisk d) throws IOException;
  }

  /** Cuts the power at the first write of {@code op} (its WAL transaction) and loses only WAL block 1 of it. */
  private static PowerLossDevice cutLosingWalBlock1(PowerLossDevice dev, VirtualDisk d, Op op) throws IOException {
    long walStart = d.volume().superblock().walStart();
    byte[] before = dev.snapshot();
    dev.crashAt(dev.writeCount());
    assertThatThrownBy(() -> op.run(d)).isInstanceOf(IOException.class);
    byte[] after = dev.powerLoss(KeepPolicy.ALL).snapshot();
    int at = (int) ((walStart + 1) * BS);
    System.arraycopy(before, at, after, at, BS);
    return PowerLossDevice.fromImage(after);
  }

  @Test
  void aLostDataImage_isNotReplacedByAnOlderEpochsZeroImageOfAnotherInode() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("wal image");
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(BS));
    d.writeFile("/a", new byte[100]);
    d.checkpoint();
    PowerLossDevice survivor = cutLosingWalBlock1(dev, d, x -> x.writeFile("/b", new byte[100]));
    try (VirtualDisk r = TestVolumes.open(survivor)) {
      assertThat(r.exists("/b")).as("the torn transaction is not replayed").isFalse();
      assertThat(r.readFile("/a")).isEqualTo(new byte[100]);
      TestVolumes.assertClean(r.verify(Progress.NONE), "after recovery");
    }
  }

  @Test
  void aLostDirectoryImage_isNotReplacedByAnOlderEpochsZeroDataImage() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("wal image");
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(BS));
    d.mkdir("/x");
    d.writeFile("/x/f", new byte[10]);
    d.checkpoint();
    d.writeFile("/z", new byte[100]);
    d.checkpoint();
    PowerLossDevice survivor = cutLosingWalBlock1(dev, d, x -> x.delete("/x/f"));
    try (VirtualDisk r = TestVolumes.open(survivor)) {
      assertThat(r.list("/x")).as("the delete is not replayed").hasSize(1);
      assertThat(r.readFile("/x/f")).isEqualTo(new byte[10]);
      TestVolumes.assertClean(r.verify(Progress.NONE), "after recovery");
    }
  }

  /** A commit block written before the field existed (zeros there) still commits its transaction. */
  @Test
  void aCommitWithoutImageTrailers_stillReplays() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("older commit");
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(BS));
    byte[] content = SeededBytes.bytes(11, 1000);
    d.writeFile("/f", content);
    byte[] image = dev.durableSnapshot();
    Superblock sb = SuperblockSlots.load(PowerLossDevice.fromImage(image)).superblock();
    int commits = 0;
    for (long p = 0; p < sb.walBlocks(); p++) {
      int at = (int) ((sb.walStart() + p) * BS);
      byte[] blk = Arrays.copyOfRange(image, at, at + BS);
      if (BlockCodec.checksumMatches(blk) && BlockCodec.storedTag(blk) == BlockType.WAL_COMMIT.tag()
          && Bytes.i64(blk, 8) == sb.walSalt()) {
        assertThat(Bytes.i32(blk, WalCodec.COMMIT_FLAGS_OFFSET) & WalCodec.COMMIT_FLAG_IMAGE_TRAILERS)
            .as("this engine records the images' trailers").isNotZero();
        Arrays.fill(blk, WalCodec.IMAGE_TRAILERS_OFFSET, WalCodec.COMMIT_FLAGS_OFFSET + 4, (byte) 0);
        BlockCodec.seal(blk, BlockType.WAL_COMMIT, BlockCodec.storedGeneration(blk));
        System.arraycopy(blk, 0, image, at, BS);
        commits++;
      }
    }
    assertThat(commits).as("committed transactions not yet checkpointed").isPositive();
    try (VirtualDisk r = TestVolumes.open(PowerLossDevice.fromImage(image))) {
      assertThat(r.readFile("/f")).isEqualTo(content);
      TestVolumes.assertClean(r.verify(Progress.NONE), "after recovery");
    }
  }
}
