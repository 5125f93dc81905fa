package dev.vde.check;

import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import dev.vde.inode.Extent;
import dev.vde.inode.Inode;
import dev.vde.inode.InodeCodec;
import dev.vde.module.Tags;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;

/**
 * The inode phase: every initialized inode-table block and every record in it. Free slots must be all zero; an
 * in-use inode must carry its own number and a known type, have zero flags and reserved core bytes, zero
 * reserved bytes in its inline extents, zero padding outside the module fields, a Tags field (when the layout has
 * one) that decodes, and zero unused inline extent slots, and have extents that are positive, inside the
 * volume, sorted and non-overlapping and within its size (a directory: exactly its size, without holes). Every
 * block an inode references (extents and chain blocks) is claimed in the reference bitmap; what each inode is,
 * its parent and link count go to {@link InodeFacts} for the tree walk.
 */
final class InodeChecks {
  static final String STRUCTURE = BlockType.INODE_TABLE.structure();
  static final String PHASE = "inodes";

  private final CheckContext cx;
  private final InodeTable table;
  private final BlockRefs refs;
  private final InodeReader reader;
  private final InodeFacts facts;

  InodeChecks(CheckContext cx, InodeTable table, BlockRefs refs) {
    this.cx = cx;
    this.table = table;
    this.refs = refs;
    this.reader = new InodeReader(cx);
    this.facts = new InodeFacts(table.slots());
  }

  /** What the phase learned; complete once {@link #run} returned. */
  InodeFacts facts() {
    return facts;
  }

  void run() throws IOException {
    long total = table.slots();
    cx.progress(PHASE, 0, total, "inodes");
    for (long idx = 0; idx < table.initBlocks(); idx++) {
      checkTableBlock(idx);
      cx.progress(PHASE, Math.min(total, (idx + 1) * table.perBlock()), total, "inodes");
    }
  }

  private void checkTableBlock(long idx) throws IOException {
    long blockNo = table.start() + idx;
    byte[] b = cx.readMetadata(blockNo, BlockType.INODE_TABLE, null);
    long first = idx * table.perBlock();
    if (b == null) {
      for (long n = first; n < Math.min(first + table.perBlock(), table.slots()); n++) {
        facts.set(n, InodeFacts.UNKNOWN, 0, 0);
      }
      facts.incomplete = true;
      cx.referencesIncomplete = true;
      return;
    }
    cx.checkGeneration(b, blockNo, BlockType.INODE_TABLE, idx, "its index in the inode table");
    int used = table.perBlock() * table.inodeSize();
    if (!Bytes.isZero(b, used, cx.payload - used)) {
      cx.problems.add(blockNo, STRUCTURE, "bytes " + used + ".." + (cx.payload - 1) + " after the last inode "
          + "record are not zero");
    }
    for (int s = 0; s < table.perBlock(); s++) {
      long n = first + s;
      int off = s * table.inodeSize();
      if (n >= table.inodeCount()) {
        if (!Bytes.isZero(b, off, table.inodeSize())) {
          cx.problems.add(blockNo, STRUCTURE, "slot of inode " + n + ", past the inode count "
              + table.inodeCount() + ", is not zero");
        }
      } else {
        checkRecord(b, off, n, blockNo);
      }
    }
  }

  private void checkRecord(byte[] b, int off, long n, long blockNo) throws IOException {
    int type = Bytes.u8(b, off + 4);
    if (type == Inode.TYPE_FREE) {
      if (!Bytes.isZero(b, off, table.inodeSize())) {
        cx.problems.add(blockNo, STRUCTURE, "inode " + n + " is free (type 0) but its record is not all zero");
      }
      return;
    }
    if (n == 0) {
      cx.problems.add(blockNo, STRUCTURE, "inode 0 is reserved and must be free, found type " + type);
      return;
    }
    cx.inodesChecked++;
    facts.live++;
    if (type != Inode.TYPE_FILE && type != Inode.TYPE_DIRECTORY) {
      cx.problems.add(blockNo, STRUCTURE, "inode " + n + " has unknown type " + type + ", expected 1 (file) or 2 "
          + "(directory)");
      facts.set(n, InodeFacts.BAD_TYPE, 0, 0);
      return;
    }
    InodeReader.Decoded d = reader.decode(b, off, n, blockNo, cx.problems);
    if (!d.chainComplete()) {
      cx.referencesIncomplete = true;
    }
    cx.blocksChecked += d.chainBlocks().size();
    Inode ino = d.inode();
    checkCore(b, off, n, blockNo, ino);
    checkTags(b, off, n, blockNo);
    checkExtents(n, ino, d.extents(), blockNo);
    claim(d);
    if (ino.isDirectory()) {
      facts.directories++;
    }
    facts.set(n, ino.isDirectory() ? InodeFacts.DIRECTORY : InodeFacts.FILE, ino.parent(), ino.linkCount());
  }

  /** Fields of the record itself: number, reserved bytes, padding, size, links, parent. */
  private void checkCore(byte[] b, int off, long n, long blockNo, Inode ino) {
    if (ino.number() != n) {
      cx.problems.add(blockNo, STRUCTURE, "slot of inode " + n + " holds inode number " + ino.number());
    }
    if (!InodeCodec.reservedCoreZero(b, off)) {
      cx.problems.add(blockNo, STRUCTURE, "inode " + n + " has non-zero reserved core bytes (72..79 or 272..303)");
    }
    // Every byte of the module area outside the fields is padding and zero (FORMAT.md sections 9 and 10): after
    // the last field, and also in a gap between fields, which a valid layout may have. Checking only after the
    // last field let damage in a gap pass as clean.
    int at = InodeLayout.CORE_SIZE;
    for (InodeLayout.Field f : cx.sb.layout().fieldsByOffset()) {
      checkPadding(b, off, n, blockNo, at, f.offset());
      at = Math.max(at, f.end());
    }
    checkPadding(b, off, n, blockNo, at, table.inodeSize());
    int flags = Bytes.u8(b, off + 5);
    if (flags != 0) {
      // No flag is defined yet: a later format may give these bits a meaning this volume does not have.
      cx.problems.add(blockNo, STRUCTURE, "inode " + n + " has flags 0x" + Integer.toHexString(flags)
          + " in its reserved flags byte (5), expected 0");
    }
    long count = InodeCodec.storedExtentCount(b, off);
    for (int i = 0; i < Math.min(count, Inode.INLINE_EXTENTS); i++) {
      int reserved = off + 80 + i * Extent.SIZE + 20;
      if (!Bytes.isZero(b, reserved, 4)) {
        cx.problems.add(blockNo, STRUCTURE, "inode " + n + " extent " + i + " has non-zero reserved bytes 20..23");
      }
    }
    for (long i = Math.min(count, Inode.INLINE_EXTENTS); i < Inode.INLINE_EXTENTS; i++) {
      if (!Bytes.isZero(b, off + 80 + (int) i * Extent.SIZE, Extent.SIZE)) {
        cx.problems.add(blockNo, STRUCTURE, "inode " + n + " has " + count + " extents but unused inline extent "
            + "slot " + i + " is not zero");
      }
    }
    if (ino.size() < 0) {
      cx.problems.add(blockNo, STRUCTURE, "inode " + n + " has negative size " + ino.size());
    }
    if (ino.isFile() && ino.linkCount() != 1) {
      cx.problems.add(blockNo, STRUCTURE, "file inode " + n + " has link count " + ino.linkCount() + ", expected 1");
    }
    if (n == Inode.ROOT && !ino.isDirectory()) {
      cx.problems.add(blockNo, STRUCTURE, "root inode 1 is a file, expected a directory");
    }
    if (n == Inode.ROOT && ino.parent() != Inode.ROOT) {
      cx.problems.add(blockNo, STRUCTURE, "root inode 1 has parent " + ino.parent() + ", expected 1");
    } else if (ino.parent() < 1 || ino.parent() >= table.inodeCount()) {
      cx.problems.add(blockNo, STRUCTURE, "inode " + n + " has parent " + ino.parent() + ", outside 1.."
          + (table.inodeCount() - 1));
    }
  }

  /** Reports non-zero padding bytes {@code [from, to)} of inode {@code n}'s record; nothing when the range is empty. */
  private void checkPadding(byte[] b, int off, long n, long blockNo, int from, int to) {
    if (from < to && !Bytes.isZero(b, off + from, to - from)) {
      cx.problems.add(blockNo, STRUCTURE, "inode " + n + " has non-zero module-area padding (bytes " + from + ".."
          + (to - 1) + " must be zero)");
    }
  }

  /**
   * The Tags field, the one module field with an encoding (FORMAT.md section 17): a field its decoder refuses makes
   * every read of that file's tags fail, so it is damage the check must name.
   */
  private void checkTags(byte[] b, int off, long n, long blockNo) {
    InodeLayout.Field f = cx.sb.layout().fieldFor(Module.TAGS);
    if (f == null) {
      return;
    }
    try {
      Tags.decode(Arrays.copyOfRange(b, off + f.offset(), off + f.end()), "inode " + n);
    } catch (VdeCorruptedException e) {
      cx.problems.add(blockNo, STRUCTURE, e.getMessage());
    }
  }

  /** Extents: positive, inside the volume, sorted, non-overlapping, within the size. */
  private void checkExtents(long n, Inode ino, List<InodeReader.Located> xs, long blockNo) {
    boolean dir = ino.isDirectory();
    long size = Math.max(0, ino.size());
    long sizeBlocks = size / cx.payload + (size % cx.payload == 0 ? 0 : 1);
    if (dir && size % cx.payload != 0) {
      cx.problems.add(blockNo, STRUCTURE, "directory inode " + n + " has size " + size + ", not a multiple of the "
          + "block payload " + cx.payload);
    }
    Extent prev = null;
    long prevEnd = 0;
    long mappedInSize = 0;
    for (int i = 0; i < xs.size(); i++) {
      Extent e = xs.get(i).extent();
      long at = xs.get(i).recordBlock();
      String where = at == blockNo ? STRUCTURE : InodeReader.CHAIN;
      String id = "inode " + n + " extent " + i;
      if (e.count() <= 0) {
        cx.problems.add(at, where, id + " has block count " + e.count() + ", expected at least 1");
        continue;
      }
      if (!cx.inVolume(e.start(), e.count())) {
        String past = e.start() < 1 ? "" : " (past the end of the volume)";
        cx.problems.add(at, where, id + " maps blocks " + Text.num(e.start()) + ".." + Text.num(e.start() + e.count()
            - 1) + ", outside 1.." + Text.num(cx.totalBlocks - 1) + past);
      }
      if (e.logical() < 0 || e.logical() > Long.MAX_VALUE - e.count()) {
        cx.problems.add(at, where, id + " starts at logical block " + e.logical() + ", out of range");
        continue;
      }
      if (prev != null && e.logical() < prevEnd) {
        cx.problems.add(at, where, e.logical() < prev.logical()
            ? id + " (logical " + e.logical() + ") is out of order: extent " + (i - 1) + " starts at logical "
                + prev.logical()
            : id + " (logical " + e.logical() + ".." + (e.logicalEnd() - 1) + ") overlaps extent " + (i - 1)
                + " (logical " + prev.logical() + ".." + (prev.logicalEnd() - 1) + ")");
      }
      if (e.logicalEnd() > sizeBlocks) {
        cx.problems.add(at, where, id + " maps logical blocks up to " + (e.logicalEnd() - 1) + ", past the end of the "
            + (dir ? "directory" : "file") + " (size " + size + " bytes = " + sizeBlocks + " blocks)");
      }
      mappedInSize += Math.max(0, Math.min(e.logicalEnd(), sizeBlocks) - e.logical());
      prevEnd = Math.max(prevEnd, e.logicalEnd());
      prev = e;
    }
    if (dir && size % cx.payload == 0 && mappedInSize < sizeBlocks) {
      cx.problems.add(blockNo, STRUCTURE, "directory inode " + n + " has holes: it maps " + mappedInSize + " of the "
          + sizeBlocks + " blocks its size says");
    }
  }

  /** Claims the blocks the inode references, and sizes the content phase. */
  private void claim(InodeReader.Decoded d) {
    for (InodeReader.Located l : d.extents()) {
      Extent e = l.extent();
      if (cx.inVolume(e.start(), e.count())) {
        refs.claim(e.start(), e.count());
        facts.contentBlocks += e.count();
        facts.longestExtent = Math.max(facts.longestExtent, e.count());
      }
    }
    for (long b : d.chainBlocks()) {
      refs.claim(b, 1);
    }
  }
}
