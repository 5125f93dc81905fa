package dev.vde.module.copy;

import static dev.vde.module.copy.CopyFixtures.PAYLOAD;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeNoSpaceException;
import dev.vde.format.Module;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.SeededBytes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Adding Tags grows every inode from 320 to 448 bytes and adds a Tags region, so the destination's metadata ends
 * well past the source's and the first data blocks must move.
 */
class RelocationTest {
  private static final long SIZE = 4L << 20;
  /** One per block: the fill uses one-block files. */
  private static final long INODES = 1024;

  @TempDir
  Path tmp;

  @Test
  void nearlyFullSourceIsRelocatedIntoFragmentedFreeSpace() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("dst.vde");
    Map<String, String> before;
    CopyResult r;
    try (VirtualDisk d = CopyFixtures.create(src, SIZE, INODES)) {
      fillToPercent(d, 90);
      before = CopyFixtures.tree(d);
      r = ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().addModule(Module.TAGS).verify(true));
      assertThat(r.blocksCopied()).isEqualTo(ExtentAwareCopy.estimateCopyBlocks(d));
    }
    assertThat(r.blocksRelocated()).as("blocks relocated").isGreaterThan(50);
    assertThat(r.extentBlocksAdded()).as("relocation split the big file past eight extents").isPositive();
    try (VirtualDisk c = VirtualDisk.open(dst)) {
      assertThat(CopyFixtures.tree(c)).isEqualTo(before);
      CopyFixtures.assertClean(c, "relocated copy");
      assertThat(c.stat("/big").extentCount()).isGreaterThan(8);
      // The copy is a working volume: it takes new files and still verifies.
      c.writeFile("/after-copy", SeededBytes.bytes(7, 3 * PAYLOAD));
      assertThat(c.readFile("/after-copy")).isEqualTo(SeededBytes.bytes(7, 3 * PAYLOAD));
      CopyFixtures.assertClean(c, "relocated copy after a write");
    }
  }

  @Test
  void dataThatCannotFitFailsBeforeWritingAnything() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("dst.vde");
    try (VirtualDisk d = CopyFixtures.create(src, SIZE, INODES)) {
      fillToPercent(d, 98);
      String hash = CopyFixtures.sha256(src);
      assertThatThrownBy(() -> ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().addModule(Module.TAGS)))
          .isInstanceOf(VdeNoSpaceException.class)
          .hasMessageContaining("does not fit");
      assertThat(CopyFixtures.sha256(src)).isEqualTo(hash);
    }
    assertThat(Files.exists(dst)).as("no destination left behind").isFalse();
  }

  @Test
  void aLargerDestinationMakesRoom() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("dst.vde");
    Map<String, String> before;
    try (VirtualDisk d = CopyFixtures.create(src, SIZE, INODES)) {
      fillToPercent(d, 98);
      before = CopyFixtures.tree(d);
      ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().addModule(Module.TAGS).sizeBytes(2 * SIZE).verify(true));
    }
    try (VirtualDisk c = VirtualDisk.open(dst)) {
      assertThat(c.info().totalBlocks()).isEqualTo(2 * SIZE / CopyFixtures.BS);
      assertThat(CopyFixtures.tree(c)).isEqualTo(before);
      CopyFixtures.assertClean(c, "grown copy");
    }
  }

  /**
   * A file of fourteen extents (one chain block) whose pieces lie right after the metadata with one free block
   * between each two: moved into free space one after the other, they join into far fewer extents, all inline,
   * and the chain block is not needed any more. Its extents still reached the copy (in the inode), so it counts as
   * copied like every other allocated block, and the skipped blocks are only free and metadata blocks, as the
   * result and {@code vde copy} say.
   */
  @Test
  void aChainThatRelocationMakesUnnecessaryCountsAsCopied() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("dst.vde");
    Map<String, String> before;
    long allocated;
    CopyResult r;
    try (VirtualDisk d = CopyFixtures.create(src, SIZE, INODES)) {
      d.writeFile("/m", new byte[0]);
      for (int i = 0; i < 14; i++) {
        d.append("/m", SeededBytes.bytes(50 + i, PAYLOAD));
        d.writeFile("/spacer" + i, SeededBytes.bytes(i, 10));
      }
      assertThat(d.stat("/m").extentCount()).isEqualTo(14);
      for (int i = 0; i < 14; i++) {
        d.delete("/spacer" + i);
      }
      d.writeFile("/other", SeededBytes.bytes(3, 5 * PAYLOAD));
      before = CopyFixtures.tree(d);
      allocated = ExtentAwareCopy.estimateCopyBlocks(d);
      r = ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().addModule(Module.TAGS).verify(true));
    }
    try (VirtualDisk c = VirtualDisk.open(dst)) {
      assertThat(c.stat("/m").extentCount()).as("extents of /m in the copy").isLessThanOrEqualTo(8);
      assertThat(CopyFixtures.tree(c)).isEqualTo(before);
      CopyFixtures.assertClean(c, "copy whose chain went into the inode");
    }
    assertThat(r.blocksRelocated()).isPositive();
    assertThat(r.blocksCopied()).as("blocks copied: every allocated data block").isEqualTo(allocated);
    assertThat(r.blocksSkipped()).as("blocks skipped: free and metadata blocks").isEqualTo(r.totalBlocks() - allocated);
  }

  /**
   * A big file first (so it sits right after the metadata, where the destination's metadata will be), a
   * fragmented one, then one-block files up to the given fill; then every other one-block file is deleted and
   * the volume refilled with one-block files to the same fill. Free space ends up as scattered one-block holes,
   * so relocated extents split into one-block pieces.
   */
  private static void fillToPercent(VirtualDisk d, int percent) throws Exception {
    d.writeFile("/big", SeededBytes.bytes(1, 120 * PAYLOAD));
    CopyFixtures.fragmented(d, "/frag", 10);
    int made = fillWithSmallFiles(d, "/s", percent);
    d.batch(disk -> {
      for (int k = 0; k < made; k += 2) {
        disk.delete("/s" + k);
      }
    });
    // Makes the freed blocks reusable.
    d.checkpoint();
    fillWithSmallFiles(d, "/r", percent);
  }

  /** Writes one-block files named prefix0, prefix1, ... until {@code percent} of the volume is allocated. */
  private static int fillWithSmallFiles(VirtualDisk d, String prefix, int percent) throws Exception {
    long total = d.info().totalBlocks();
    long keepFree = total * (100 - percent) / 100;
    int[] made = {0};
    while (d.info().freeBlocks() > keepFree) {
      long room = d.info().freeBlocks() - keepFree;
      d.batch(disk -> {
        for (long k = 0; k < Math.min(20, room); k++) {
          disk.writeFile(prefix + made[0], SeededBytes.bytes(prefix.hashCode() + made[0], 100));
          made[0]++;
        }
      });
    }
    return made[0];
  }
}
