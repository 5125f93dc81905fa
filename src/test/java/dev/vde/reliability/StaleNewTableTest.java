package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.Bytes;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
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
}
