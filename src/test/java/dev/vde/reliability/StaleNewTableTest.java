package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.Bytes;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * The mid-migration seed with INCOMPAT_MIGRATION_PENDING cleared in both superblock copies (resealed), so the
 * region directory still holds the cancelled migration's INOM region (a half-copied new inode table) although no
 * migration is pending. FORMAT.md section 7 allows INOM only with the pending bit. Open used to accept it, and a
 * new Tags migration then added a second INOM entry; its swap ({@code rd.find(TAG_INODES_NEW)} takes the first)
 * installed the stale half-copied table as the inode table, and every file of the volume was gone. Open now
 * refuses such a region directory in both modes, and the image is left as it was.
 */
class StaleNewTableTest {
  @Test
  void aVolumeWithAnINOMRegionButNoPendingMigrationIsRefusedAtOpen() throws IOException {
    FuzzCorpus.Seed seed = FuzzCorpus.midMigration();
    byte[] image = seed.image();
    Superblock sb = ImageEdit.newestSuperblock(image);
    assertThat(Reseal.regions(image).find(RegionDirectory.TAG_INODES_NEW)).isNotNull();
    Reseal.editSuperblocks(image,
        b -> Bytes.put64(b, 80, sb.incompat() & ~Superblock.INCOMPAT_MIGRATION_PENDING));
    Reseal.assertRefusedAtOpen(image, "region INOM is listed but no inode migration is pending");
  }

  @Test
  void aRegionDirectoryListingTheInodeTableTwiceIsRefusedAtOpen() throws IOException {
    byte[] image = FuzzCorpus.plain().image();
    RegionDirectory rd = Reseal.regions(image);
    RegionDirectory.Entry ino = rd.find(RegionDirectory.TAG_INODES);
    // A second INOD entry over the same blocks: the overlap is reported too, and the duplicate is named.
    Reseal.writeRegions(image, rd.with(new RegionDirectory.Entry(ino.tag(), 0, ino.start(), ino.blocks())));
    Reseal.assertRefusedAtOpen(image, "is listed 2 times");
  }

  /**
   * FORMAT.md section 7: module-region tags may coincide with core tags, only flags bit 0 tells them apart, and no
   * core tag may be listed twice. A module region tagged INOD (of a module this engine does not know, placed on
   * allocated blocks at the end of the volume) is therefore no second inode table; open used to count it as one
   * and refuse the volume.
   */
  @Test
  void aModuleRegionWhoseTagIsACoreTagIsNoDuplicate() throws IOException {
    byte[] image = FuzzCorpus.plain().image();
    Superblock sb = ImageEdit.newestSuperblock(image);
    RegionDirectory rd = Reseal.regions(image);
    long start = sb.totalBlocks() - 4;
    // Mark the four blocks allocated, as a region's blocks are (section 8); they are the last ones of the volume,
    // past what the seed's files use.
    long bmStart = rd.find(RegionDirectory.TAG_BITMAP).start();
    long bitsPerBlock = (sb.blockSize() - 16) * 8L;
    for (long b = start; b < sb.totalBlocks(); b++) {
      long bit = b % bitsPerBlock;
      Reseal.editBlock(image, bmStart + b / bitsPerBlock, x -> {
        assertThat(x[(int) (bit >>> 3)] >> (bit & 7) & 1).as("block at the end of the volume is free").isZero();
        x[(int) (bit >>> 3)] |= (byte) (1 << (bit & 7));
      });
    }
    Reseal.editSuperblocks(image, b -> Bytes.put64(b, 120, sb.freeBlocks() - 4));
    Reseal.writeRegions(image, rd.with(new RegionDirectory.Entry(RegionDirectory.TAG_INODES,
        RegionDirectory.FLAG_MODULE | 40 << 8, start, 4)));
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(image), OpenOptions.defaults())) {
      assertThat(d.isReadOnly()).as("opened writable").isFalse();
      assertThat(d.list("/")).isNotEmpty();
    }
  }
}
