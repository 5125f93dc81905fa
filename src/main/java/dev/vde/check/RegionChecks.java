package dev.vde.check;

import dev.vde.VdeCorruptedException;
import dev.vde.alloc.AllocationBitmap;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.RegionDirectory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The region directory: its RDIR blocks, its invariants (inside the volume, no overlaps, required regions
 * present, no undefined flags, zero outside the entries), and the sizes the other structures need. Also knows
 * which blocks are metadata, for the reference bitmap and for naming the owner of a block claimed twice.
 */
final class RegionChecks {
  static final String STRUCTURE = BlockType.REGION_DIRECTORY.structure();
  static final String PHASE = "regions";

  private RegionChecks() {}

  static void run(CheckContext cx) throws IOException {
    long start = cx.sb.regionDirStart();
    int n = cx.sb.regionDirBlocks();
    cx.progress(PHASE, 0, n, "blocks");
    List<byte[]> blocks = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      byte[] b = cx.readMetadata(start + i, BlockType.REGION_DIRECTORY, null);
      if (b != null) {
        cx.checkGeneration(b, start + i, BlockType.REGION_DIRECTORY, i, "its index in the region directory");
        checkUnusedBytes(cx, b, start + i, i);
        blocks.add(b);
      }
      cx.progress(PHASE, i + 1, n, "blocks");
    }
    if (blocks.size() == n) {
      compareWithPublished(cx, blocks, start);
    }
    for (String p : cx.regions.problems(cx.totalBlocks, start + n)) {
      cx.problems.add(start, STRUCTURE, p);
    }
    checkFlags(cx, start);
    checkSizes(cx);
  }

  /**
   * The header's reserved word and the bytes after the entries must be zero: bytes past the count are what a
   * count damaged downwards leaves behind, regions the engine no longer sees.
   */
  private static void checkUnusedBytes(CheckContext cx, byte[] b, long blockNo, int index) {
    String block = "region directory block " + index;
    if (!Bytes.isZero(b, 4, 4)) {
      cx.problems.add(blockNo, STRUCTURE, block + " has non-zero reserved bytes 4..7");
    }
    long count = Bytes.u32(b, 0);
    if (count > RegionDirectory.entriesPerBlock(cx.blockSize)) {
      // Reported when the blocks are decoded; there is no end of the entries to look past.
      return;
    }
    int end = RegionDirectory.HEADER_SIZE + (int) count * RegionDirectory.ENTRY_SIZE;
    if (!Bytes.isZero(b, end, cx.payload - end)) {
      cx.problems.add(blockNo, STRUCTURE, block + " has non-zero bytes " + end + ".." + (cx.payload - 1) + " after "
          + "its entries");
    }
  }

  /**
   * Only bit 0 (module region) and, with it, bits 8..15 (the module id) are defined. The engine tells core from
   * module regions by bit 0 alone, so a module region that lost it would pass for a core region, and its module
   * would find no region.
   */
  private static void checkFlags(CheckContext cx, long start) {
    for (RegionDirectory.Entry e : cx.regions.entries()) {
      int defined = e.isModuleRegion() ? RegionDirectory.FLAG_MODULE | 0xFF00 : 0;
      if ((e.flags() & ~defined) != 0) {
        cx.problems.add(start, STRUCTURE, "region " + e.tagText() + " at " + e.start() + "+" + e.blocks()
            + " has flags 0x" + Integer.toHexString(e.flags()) + (e.isModuleRegion()
                ? ": only bit 0 and the module id in bits 8..15 may be set"
                : ": a core region (bit 0 clear) must have flags 0"));
      }
    }
  }

  /** The directory in the blocks must be the one the engine uses. */
  private static void compareWithPublished(CheckContext cx, List<byte[]> blocks, long start) {
    try {
      RegionDirectory onDisk = RegionDirectory.read(blocks, start, cx.resource);
      if (!onDisk.entries().equals(cx.regions.entries())) {
        cx.problems.add(start, STRUCTURE, "blocks list " + onDisk.entries().size() + " regions that differ from the "
            + cx.regions.entries().size() + " regions in use");
      }
    } catch (VdeCorruptedException e) {
      cx.problems.add(e, null);
    }
  }

  /** Each core region must be large enough for what the superblock puts in it. */
  private static void checkSizes(CheckContext cx) {
    RegionDirectory.Entry bm = cx.regions.find(RegionDirectory.TAG_BITMAP);
    long need = AllocationBitmap.blocksFor(cx.totalBlocks, cx.blockSize);
    if (bm != null && bm.blocks() < need) {
      cx.problems.add(cx.sb.regionDirStart(), STRUCTURE, "bitmap region has " + bm.blocks() + " blocks, the volume "
          + "needs " + need);
    }
    RegionDirectory.Entry wal = cx.regions.find(RegionDirectory.TAG_WAL);
    if (wal != null && (wal.start() != cx.sb.walStart() || wal.blocks() != cx.sb.walBlocks())) {
      cx.problems.add(cx.sb.regionDirStart(), STRUCTURE, "WAL region " + wal.start() + "+" + wal.blocks()
          + " disagrees with the superblock's " + cx.sb.walStart() + "+" + cx.sb.walBlocks());
    }
    InodeTable t = InodeTable.of(cx);
    if (t != null && t.blocks() * t.perBlock() < cx.sb.inodeCount()) {
      cx.problems.add(cx.sb.regionDirStart(), STRUCTURE, "inode table region of " + t.blocks() + " blocks holds "
          + t.blocks() * t.perBlock() + " inodes, the superblock says " + cx.sb.inodeCount());
    }
    if (t != null && cx.sb.inodeTableInitBlocks() > t.blocks()) {
      cx.problems.add(-1, SuperblockChecks.STRUCTURE, "initialized inode-table blocks is "
          + cx.sb.inodeTableInitBlocks() + ", past the inode table's " + t.blocks() + " blocks");
    }
  }

  /**
   * Marks every metadata block: the superblock copies and region directory, and every region (bitmap, WAL,
   * checkpoint, inode table, module regions, and the tables of a migration). On a fresh volume this is exactly
   * blocks 0 to the end of the inode table plus the module regions; after an inode migration the table lives
   * elsewhere and its old place holds ordinary blocks, so the regions, not that range, define the metadata.
   */
  static void markMetadata(CheckContext cx, BlockRefs refs) {
    refs.markMetadata(0, cx.sb.regionDirStart() + cx.sb.regionDirBlocks());
    for (RegionDirectory.Entry e : cx.regions.entries()) {
      refs.markMetadata(e.start(), e.blocks());
    }
  }

  /** Offers the metadata areas to {@code claimants} under names a reader recognizes. */
  static void offerMetadata(CheckContext cx, Claimants claimants) {
    claimants.offer(0, 2, () -> "the superblock copies");
    claimants.offer(cx.sb.regionDirStart(), cx.sb.regionDirBlocks(), () -> "the region directory");
    for (RegionDirectory.Entry e : cx.regions.entries()) {
      claimants.offer(e.start(), e.blocks(), () -> regionName(e));
    }
  }

  static String regionName(RegionDirectory.Entry e) {
    BlockType t = e.isModuleRegion() ? null : BlockType.fromTag(e.tag());
    return "region " + e.tagText() + (t == null ? "" : " (" + t.structure() + ")");
  }
}
