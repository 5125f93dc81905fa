package dev.vde.check;

import dev.vde.Progress;
import dev.vde.VdeCorruptedException;
import dev.vde.fs.Volume;
import java.io.IOException;

/**
 * The library verifier: fsck without repair. It reads the published state of an open volume and reports every
 * problem it finds as a {@link Problem} naming the block, the structure and what was expected versus found; it
 * never stops at the first, and damage never escapes as an exception (only a device I/O error does).
 *
 * <p>Checked, phase by phase (the phase names are what {@link Progress} receives):
 * <ol>
 *   <li><b>superblock</b>: both copies read raw from the device (a missing, damaged or misplaced copy, one
 *       describing another volume, one still marked as an incomplete copy, or an older copy naming another WAL
 *       epoch than the newest); the host file's size; the inode
 *       layout ({@code InodeLayout.problems()}); a pending migration's records (each in the block its sequence
 *       selects, reserved bytes zero).
 *   <li><b>regions</b>: the RDIR blocks' trailers and that they hold the directory in use; the region directory's
 *       invariants ({@code RegionDirectory.problems()}: inside the volume, no overlaps, core regions present, no
 *       core tag format 1.0 does not define);
 *       bitmap, WAL and inode-table regions large enough and consistent with the superblock.
 *   <li><b>bitmap</b>: the BMAP blocks' trailers and that they hold the engine's durable bitmap; no bit set past
 *       the end of the volume; the superblock's free count equals the bitmap's.
 *   <li><b>inodes</b>: every initialized inode-table block (trailer, generation) and record: free slots all zero,
 *       inode 0 free; in-use inodes carry their number and a known type, zero reserved core bytes, zero padding
 *       outside the module fields, a Tags field that decodes (FORMAT.md section 17), zero unused inline extent
 *       slots, a size consistent with the extents (no mapped logical block at or past ceil(size / payload); a
 *       directory maps exactly its size, without holes), link count 1 for files, the root is a directory and its
 *       own parent; extents positive, inside the volume, sorted and non-overlapping; indirect extent chains (XTNT
 *       trailers, owner, count, termination, loops).
 *       The superblock's used-inode count must match. Every referenced block goes into a reference bitmap that
 *       starts out holding the metadata: the superblock copies, the region directory and every region (on a
 *       fresh volume, blocks 0 to the end of the inode table and the module regions).
 *   <li>Allocation against references: leaked blocks (allocated, referenced by nothing), blocks referenced but
 *       free, blocks referenced twice.
 *   <li><b>data</b>: the trailer of every block an inode maps: DATA blocks of files (checksum, tag, owner, zero
 *       bytes past the end of the file) read in runs of up to 256 blocks; DIRE blocks of directories (checksum,
 *       tag, owner). The owners of blocks found in conflict above are named here.
 *   <li><b>tree</b>: a walk from the root: entries name live inodes of the type they say, with sane unique names
 *       and the right parent; each inode reached exactly once (no hard links or cycles); directory link counts
 *       are 2 + subdirectories; every in-use inode is reachable (else an orphan).
 * </ol>
 * Not checked block by block: the WAL region (its content is transient), the migration checkpoint and module
 * regions (they may never have been written), and inode-table blocks past the initialized watermark (all zero).
 *
 * <p>Memory is a few bitmaps the size of the allocation bitmap plus nine bytes per initialized inode; file
 * contents are streamed through a few 1 MiB buffers, read and checked on several threads ({@link ContentChecks}).
 * The caller holds the volume's state lock so the state is stable.
 */
public final class Verifier {
  private Verifier() {}

  /** Checks {@code vol}; see the class comment for what. */
  public static VerifyReport verify(Volume vol, Progress progress) throws IOException {
    CheckContext cx = new CheckContext(vol, progress);
    guard(cx, "superblock", () -> SuperblockChecks.run(cx));
    guard(cx, "region directory", () -> RegionChecks.run(cx));
    BlockRefs refs = new BlockRefs(cx.totalBlocks);
    RegionChecks.markMetadata(cx, refs);
    guard(cx, "allocation bitmap", () -> BitmapChecks.checkBlocks(cx));
    InodeTable table = InodeTable.of(cx);
    // Without a usable inode table (reported by the region checks) no reference is known and every allocated
    // block would look leaked, so the phases that need it are skipped: the region problem is the finding.
    if (table != null) {
      checkFiles(cx, table, refs);
    }
    return new VerifyReport(cx.problems.list(), cx.blocksChecked, cx.inodesChecked, cx.filesChecked);
  }

  /** Inodes, allocation against references, content and tree: the phases that need the inode table. */
  private static void checkFiles(CheckContext cx, InodeTable table, BlockRefs refs) throws IOException {
    InodeChecks inodes = new InodeChecks(cx, table, refs);
    InodeFacts facts = inodes.facts();
    if (!guard(cx, "inode table", inodes::run)) {
      facts.incomplete = true;
      cx.referencesIncomplete = true;
    }
    SuperblockChecks.checkInodesUsed(cx, facts);
    long[] suspicious = BitmapChecks.compareWithReferences(cx, refs);
    Claimants owners = suspicious == null ? null : new Claimants(suspicious, cx.totalBlocks);
    if (owners != null) {
      RegionChecks.offerMetadata(cx, owners);
    }
    guard(cx, "file data", () -> new ContentChecks(cx, table, facts, owners).run());
    if (owners != null) {
      BitmapChecks.reportConflicts(cx, refs, owners);
    }
    guard(cx, "directory tree", () -> new TreeChecks(cx, table, facts).run());
  }

  /** A phase of the verifier. */
  @FunctionalInterface
  private interface Phase {
    void run() throws IOException;
  }

  /**
   * Runs a phase so that damage it did not expect ends that phase with a problem instead of ending the whole
   * verification: the phases catch damage per structure, so this is the last line, not the usual path. Returns
   * false when the phase stopped early.
   */
  private static boolean guard(CheckContext cx, String structure, Phase phase) throws IOException {
    try {
      phase.run();
      return true;
    } catch (VdeCorruptedException e) {
      cx.problems.add(e, "the " + structure + " check stopped here");
      return false;
    }
  }
}
