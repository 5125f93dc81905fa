package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.format.BlockType;
import dev.vde.format.RegionDirectory;
import dev.vde.inode.InodeCodec;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link FormatTransaction#read} handed out the block itself: for a block changed since the last checkpoint, the
 * journal's published image, which every reader of the volume is served. A format change that edited what it read
 * before putting it back (or, as here, never put it back) changed the published state in place, outside any
 * transaction: readers in other threads saw the change at once, and an unchecked one at that.
 */
class FormatTransactionReadCopyTest {
  @TempDir
  Path dir;

  @Test
  void changingWhatAFormatTransactionRead_changesNothingItDoesNotPut() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(dir.resolve("v.vde"), CreateOptions.ofSize(8L << 20))) {
      d.writeFile("/a", new byte[] {1, 2, 3});
      Volume v = d.volume();
      long ino = d.stat("/a").inode();
      int ipb = InodeCodec.perBlock(v.blockSize(), v.superblock().inodeSize());
      long blk = v.regions().find(RegionDirectory.TAG_INODES).start() + ino / ipb;
      assertThat(v.journal().images(blk, 1, false)).as("the inode's block is a published image").isNotNull();
      byte[] before = v.journal().read(blk, BlockType.INODE_TABLE).clone();

      d.changeFormat(tx -> {
        byte[] b = tx.read(blk, BlockType.INODE_TABLE);
        Arrays.fill(b, 0, b.length, (byte) 0x55);
        return null;
      });

      assertThat(Arrays.equals(v.journal().read(blk, BlockType.INODE_TABLE), before))
          .as("the published image of the inode's block is as it was").isTrue();
      assertThat(d.readFile("/a")).containsExactly(1, 2, 3);
      assertThat(d.verify(Progress.NONE).clean()).isTrue();
    }
  }
}
