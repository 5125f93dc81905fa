package dev.vde.check;

import dev.vde.alloc.AllocationBitmap;
import dev.vde.alloc.FreeSpaceScanner;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.RegionDirectory;
import java.io.IOException;

/**
 * The allocation bitmap: its BMAP blocks (trailers, and that they say what the engine's durable view says), no
 * bits past the end of the volume, the superblock's free count, and, once every reference is known, agreement
 * with the references: leaked blocks (allocated, referenced by nothing), blocks referenced but free, and blocks
 * referenced more than once.
 */
final class BitmapChecks {
  static final String STRUCTURE = BlockType.BITMAP.structure();
  static final String DUPLICATES = "block references";
  static final String PHASE = "bitmap";

  private BitmapChecks() {}

  /** Checks the BMAP blocks against the engine's durable view, which the later checks then use. */
  static void checkBlocks(CheckContext cx) throws IOException {
    long[] durable = cx.vol.bitmap().durableWords();
    RegionDirectory.Entry region = cx.regions.find(RegionDirectory.TAG_BITMAP);
    if (region != null && cx.inVolume(region.start(), region.blocks())) {
      long n = Math.min(region.blocks(), AllocationBitmap.blocksFor(cx.totalBlocks, cx.blockSize));
      cx.progress(PHASE, 0, n, "blocks");
      for (long i = 0; i < n; i++) {
        long blockNo = region.start() + i;
        byte[] b = cx.readMetadata(blockNo, BlockType.BITMAP, null);
        if (b != null) {
          cx.checkGeneration(b, blockNo, BlockType.BITMAP, i, "its index in the bitmap");
          compareWords(cx, b, blockNo, i, durable);
        }
        cx.progress(PHASE, i + 1, n, "blocks");
      }
    }
    long limit = (long) durable.length << 6;
    long bit = FreeSpaceScanner.nextSet(durable, cx.totalBlocks, limit);
    if (bit < limit) {
      long at = region == null ? -1 : region.start() + bit / AllocationBitmap.bitsPerBlock(cx.blockSize);
      cx.problems.add(at, STRUCTURE, "bit " + Text.num(bit) + " is set, but the volume has only "
          + Text.num(cx.totalBlocks) + " blocks (bits past the end must be clear)");
    }
    long free = FreeSpaceScanner.countFree(durable, cx.totalBlocks);
    // With a bitmap block unreadable (reported above) the bitmap's count is a guess, not a finding.
    if (free != cx.sb.freeBlocks() && cx.vol.unreadableBitmapBlocks().isEmpty()) {
      cx.problems.add(-1, SuperblockChecks.STRUCTURE, "free block count is " + Text.num(cx.sb.freeBlocks())
          + ", but the allocation bitmap has " + Text.num(free) + " free blocks");
    }
  }

  /** A BMAP block must hold exactly the engine's words for its share of the bitmap. */
  private static void compareWords(CheckContext cx, byte[] b, long blockNo, long index, long[] durable) {
    int wpb = cx.payload / 8;
    for (int k = 0; k < wpb; k++) {
      long w = index * wpb + k;
      if (w >= durable.length) {
        return;
      }
      long onDisk = Bytes.i64(b, k * 8);
      if (onDisk != durable[(int) w]) {
        cx.problems.add(blockNo, STRUCTURE, String.format("differs from the bitmap in use at bits %s..%s: "
            + "block says %016x, engine has %016x", Text.num(w * 64), Text.num(w * 64 + 63), onDisk,
            durable[(int) w]));
        return;
      }
    }
  }

  /**
   * Reports leaked blocks, and returns the bitmap of blocks whose owners the content phase should name (referenced
   * but free, or referenced twice), or null when there are none.
   */
  /**
   * The bitmap's allocated words, except where a bitmap block could not be read at open (its range holds a
   * stand-in, already reported by {@link #checkBlocks}): there the references are taken as the answer, so that
   * the guess is not reported once more as leaks.
   */
  private static long[] allocatedAsKnown(CheckContext cx, long[] ref) {
    long[] alloc = cx.vol.bitmap().durableWords();
    if (cx.vol.unreadableBitmapBlocks().isEmpty()) {
      return alloc;
    }
    alloc = alloc.clone();
    int wpb = (int) (AllocationBitmap.bitsPerBlock(cx.blockSize) / 64);
    for (long index : cx.vol.unreadableBitmapBlocks()) {
      for (int w = (int) index * wpb; w < Math.min(alloc.length, (index + 1) * wpb) && w < ref.length; w++) {
        alloc[w] = ref[w];
      }
    }
    return alloc;
  }

  static long[] compareWithReferences(CheckContext cx, BlockRefs refs) {
    long[] ref = refs.referenced();
    long[] alloc = allocatedAsKnown(cx, ref);
    String maybe = cx.referencesIncomplete
        ? "; some inode metadata could not be read, so it may belong to one of those inodes" : "";
    BlockRefs.forEachRun(w -> alloc[w] & ~ref[w], cx.totalBlocks, (s, c) ->
        cx.problems.add(s, STRUCTURE, Text.blocks(s, c) + " " + Text.is(c) + " allocated in the bitmap but "
            + "referenced by nothing (leaked)" + maybe));
    long[] suspicious = new long[ref.length];
    long[] dup = refs.duplicated();
    boolean any = false;
    for (int w = 0; w < ref.length; w++) {
      suspicious[w] = (ref[w] & ~alloc[w]) | dup[w];
      any |= suspicious[w] != 0;
    }
    return any ? suspicious : null;
  }

  /** Reports blocks referenced but free and blocks referenced twice, naming their owners. */
  static void reportConflicts(CheckContext cx, BlockRefs refs, Claimants owners) {
    long[] ref = refs.referenced();
    long[] alloc = allocatedAsKnown(cx, ref);
    long[] dup = refs.duplicated();
    BlockRefs.forEachRun(w -> ref[w] & ~alloc[w], cx.totalBlocks, (s, c) ->
        cx.problems.add(s, STRUCTURE, Text.blocks(s, c) + " " + Text.is(c) + " referenced by "
            + Text.list(owners.of(s, c)) + " but free in the allocation bitmap"));
    BlockRefs.forEachRun(w -> dup[w], cx.totalBlocks, (s, c) ->
        cx.problems.add(s, DUPLICATES, Text.blocks(s, c) + " " + Text.is(c) + " referenced more than once: by "
            + Text.list(owners.of(s, c))));
  }
}
