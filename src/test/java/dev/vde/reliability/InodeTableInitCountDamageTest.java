package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import dev.vde.wal.SuperblockSlots;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * A superblock whose count of initialized inode-table blocks is damaged low (checksum intact). The table blocks past
 * the count were taken for never written, and the next new inode there initialized its block with free records,
 * over the live inodes it held: every file whose inode was in that block was gone. The first such initialization
 * must be refused, naming the block, and nothing changed.
 */
class InodeTableInitCountDamageTest {
  private static final int BS = 4096;
  private static final int FILES = 40;

  @Test
  void aNewInodePastADamagedLowInitCount_isRefused_andNoLiveInodeIsOverwritten() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("init count damaged low");
    long tableStart;
    long init;
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(8 << 20).blockSize(BS))) {
      for (int i = 0; i < FILES; i++) {
        d.writeFile("/f" + i, new byte[] {(byte) i});
      }
      tableStart = d.volume().regions().find(RegionDirectory.TAG_INODES).start();
      init = d.volume().superblock().inodeTableInitBlocks();
      assertThat(init).as("table blocks in use").isGreaterThan(2);
    }
    byte[] image = dev.durableSnapshot();
    Superblock sb = SuperblockSlots.load(PowerLossDevice.fromImage(image)).superblock();
    for (int slot = 0; slot < 2; slot++) {
      long seq = (sb.sequence() & ~1L) + slot;
      byte[] s = sb.withCounts(sb.inodesUsed(), sb.freeBlocks(), 1, sb.modifiedMillis())
          .withCheckpoint(seq, sb.checkpointTxId(), sb.walSalt()).write();
      BlockCodec.seal(s, BlockType.SUPERBLOCK, (int) seq);
      System.arraycopy(s, 0, image, slot * BS, BS);
    }
    PowerLossDevice damaged = PowerLossDevice.fromImage(image);
    try (VirtualDisk d = VirtualDisk.open(damaged, OpenOptions.defaults())) {
      // The files whose inodes lie in block 0 fill it, so the next new inode needs block 1.
      for (int i = 0; i < 3; i++) {
        String p = "/new" + i;
        assertThatThrownBy(() -> d.writeFile(p, new byte[] {9})).as(p).isInstanceOf(VdeCorruptedException.class)
            .hasMessageContaining("block 1 of the inode table holds inode")
            .satisfies(t -> assertThat(((VdeCorruptedException) t).getBlockNo()).isEqualTo(tableStart + 1));
      }
    }
    byte[] after = damaged.snapshot();
    for (long k = 1; k < init; k++) {
      int off = (int) ((tableStart + k) * BS);
      assertThat(java.util.Arrays.copyOfRange(after, off, off + BS)).as("table block %d", k)
          .isEqualTo(java.util.Arrays.copyOfRange(image, off, off + BS));
    }
  }
}
