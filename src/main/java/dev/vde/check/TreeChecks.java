package dev.vde.check;

import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.fs.DirectoryBlockCodec;
import dev.vde.inode.Extent;
import dev.vde.inode.Inode;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The tree phase: a breadth-first walk from the root directory. Every directory block must be zero outside its
 * header and entries; every entry must have a sane, unique name and point at a live inode of the type the entry
 * says, whose parent is the directory holding the entry; each inode is reached exactly once (vde has no hard
 * links, so a second path is a hard link or a cycle); a directory's link count is 2 + its subdirectories.
 * Afterwards every in-use inode not reached is an orphan.
 */
final class TreeChecks {
  static final String STRUCTURE = "directory tree";
  static final String ENTRIES = BlockType.DIRECTORY.structure();
  static final String PHASE = "tree";

  private final CheckContext cx;
  private final InodeTable table;
  private final InodeFacts facts;
  private final InodeReader reader;
  private final ArrayDeque<Long> queue = new ArrayDeque<>();

  TreeChecks(CheckContext cx, InodeTable table, InodeFacts facts) {
    this.cx = cx;
    this.table = table;
    this.facts = facts;
    this.reader = new InodeReader(cx);
  }

  void run() throws IOException {
    int rootKind = facts.kind(Inode.ROOT);
    if (rootKind == InodeFacts.UNKNOWN) {
      // The root's inode-table block is damaged (already reported): there is no tree to walk, and calling every
      // inode an orphan would bury that one finding.
      return;
    }
    if (rootKind != InodeFacts.DIRECTORY) {
      String is = rootKind == InodeFacts.FREE ? "free" : rootKind == InodeFacts.FILE ? "a file" : "of unknown type";
      cx.problems.add(table.blockOf(Inode.ROOT), STRUCTURE, "root inode 1 is " + is + ", not a directory: nothing "
          + "is reachable");
      return;
    }
    facts.markReached(Inode.ROOT);
    queue.add(Inode.ROOT);
    long walked = 0;
    cx.progress(PHASE, 0, facts.directories, "directories");
    while (!queue.isEmpty()) {
      walkDirectory(queue.poll());
      cx.progress(PHASE, ++walked, facts.directories, "directories");
    }
    reportOrphans();
  }

  private void walkDirectory(long d) throws IOException {
    long tableBlock = table.blockOf(d);
    byte[] b = cx.rereadMetadata(tableBlock, BlockType.INODE_TABLE);
    if (b == null) {
      return;
    }
    InodeReader.Decoded dd = reader.decode(b, table.offsetOf(d), d, tableBlock, Problems.discarding());
    long blocks = Math.max(0, dd.inode().size()) / cx.payload;
    Set<String> names = new HashSet<>();
    long subdirs = 0;
    // Walk the mapped blocks, not every logical index: a damaged size may claim far more blocks than exist, and
    // holes (reported by the inode phase) hold no entries anyway.
    // A block the directory maps twice (reported by the inode phase) is walked once.
    FirstVisits seen = new FirstVisits();
    long[] found = {0};
    for (InodeReader.Located loc : dd.extents()) {
      Extent x = loc.extent();
      long within = Math.max(0, Math.min(x.count(), blocks - x.logical()));
      seen.visit(x.start(), within, (start, count, offset) -> {
        for (long j = 0; j < count; j++) {
          long phys = start + j;
          // Blocks outside the volume were reported by the inode phase; the rest of this run is outside too.
          if (!cx.inVolume(phys, 1)) {
            break;
          }
          found[0] += walkDirectoryBlock(d, x.logical() + offset + j, phys, names);
        }
      });
    }
    subdirs += found[0];
    long expected = 2 + subdirs;
    if (facts.linkCount(d) != expected) {
      cx.problems.add(tableBlock, InodeChecks.STRUCTURE, "directory inode " + d + " has link count "
          + facts.linkCount(d) + ", expected " + expected + " (2 + " + subdirs + " subdirectories)");
    }
  }

  /** Checks the entries of one directory block; returns how many name subdirectories. */
  private long walkDirectoryBlock(long d, long logical, long phys, Set<String> names) throws IOException {
    // Damaged trailers were reported by the data phase.
    byte[] db = cx.rereadMetadata(phys, BlockType.DIRECTORY);
    if (db == null) {
      return 0;
    }
    List<DirectoryBlockCodec.Entry> es;
    try {
      es = DirectoryBlockCodec.read(db, phys, cx.resource);
    } catch (VdeCorruptedException e) {
      cx.problems.add(e, "directory inode " + d + " block " + logical);
      return 0;
    }
    checkUnusedBytes(d, logical, phys, db);
    long subdirs = 0;
    for (DirectoryBlockCodec.Entry e : es) {
      subdirs += checkEntry(d, phys, e, names);
    }
    return subdirs;
  }

  /**
   * The header's reserved word and the bytes after the entries must be zero: an entry left there (by damage to
   * the count or used bytes) is invisible to every reader, and the next name added writes over part of it.
   */
  private void checkUnusedBytes(long d, long logical, long phys, byte[] db) {
    String block = "directory inode " + d + " block " + logical;
    if (!Bytes.isZero(db, 4, 4)) {
      cx.problems.add(phys, ENTRIES, block + " has non-zero reserved bytes 4..7");
    }
    int end = DirectoryBlockCodec.HEADER_SIZE + Bytes.u16(db, 2);
    if (!Bytes.isZero(db, end, cx.payload - end)) {
      cx.problems.add(phys, ENTRIES, block + " has non-zero bytes " + end + ".." + (cx.payload - 1) + " after its "
          + "entries");
    }
  }

  /** Checks one entry and follows it; returns 1 when the entry names a subdirectory (for the link count). */
  private int checkEntry(long d, long blockNo, DirectoryBlockCodec.Entry e, Set<String> names) {
    String what = "entry '" + e.name() + "' in directory inode " + d;
    int subdir = e.type() == Inode.TYPE_DIRECTORY ? 1 : 0;
    if (!names.add(e.name())) {
      cx.problems.add(blockNo, ENTRIES, what + " appears twice in that directory");
    }
    String badName = nameProblem(e.name());
    if (badName != null) {
      cx.problems.add(blockNo, ENTRIES, what + " " + badName);
    }
    long t = e.inode();
    if (t < 1 || t >= table.inodeCount()) {
      cx.problems.add(blockNo, ENTRIES, what + " points at inode " + t + ", outside 1.." + (table.inodeCount() - 1));
      return subdir;
    }
    if (t == Inode.ROOT) {
      cx.problems.add(blockNo, ENTRIES, what + " points at the root directory (inode 1), which no entry may name");
      return subdir;
    }
    int kind = facts.kind(t);
    if (kind == InodeFacts.UNKNOWN) {
      // Its inode-table block is damaged and reported; nothing here can be compared.
      return subdir;
    }
    if (kind == InodeFacts.FREE) {
      cx.problems.add(blockNo, ENTRIES, what + " points at free inode " + t);
      return subdir;
    }
    if (e.type() != Inode.TYPE_FILE && e.type() != Inode.TYPE_DIRECTORY) {
      cx.problems.add(blockNo, ENTRIES, what + " has unknown type " + e.type() + ", expected 1 (file) or 2 "
          + "(directory)");
    } else if (kind != InodeFacts.BAD_TYPE && e.type() != kind) {
      cx.problems.add(blockNo, ENTRIES, what + " says " + Text.typeName(e.type()) + ", but inode " + t + " is a "
          + Text.typeName(kind));
    }
    if (!facts.markReached(t)) {
      cx.problems.add(blockNo, ENTRIES, what + " links inode " + t + ", which is already reachable through another "
          + "entry (a hard link or a directory cycle)");
      return subdir;
    }
    if (kind != InodeFacts.BAD_TYPE && facts.parent(t) != d) {
      cx.problems.add(table.blockOf(t), InodeChecks.STRUCTURE, "inode " + t + " has parent " + facts.parent(t)
          + ", but it is listed in directory inode " + d + " as '" + e.name() + "'");
    }
    if (kind == InodeFacts.DIRECTORY) {
      queue.add(t);
    }
    return subdir;
  }

  /** Why a name cannot be a path component, or null. */
  private static String nameProblem(String name) {
    if (name.equals(".") || name.equals("..")) {
      return "is a reserved name";
    }
    if (name.indexOf('/') >= 0 || name.indexOf('\0') >= 0) {
      return "contains '/' or NUL";
    }
    return null;
  }

  private void reportOrphans() {
    for (long n = Inode.ROOT + 1; n < facts.capacity(); n++) {
      int kind = facts.kind(n);
      if ((kind == InodeFacts.FILE || kind == InodeFacts.DIRECTORY) && !facts.reached(n)) {
        cx.problems.add(table.blockOf(n), STRUCTURE, "inode " + n + " (" + Text.typeName(kind) + ", parent "
            + facts.parent(n) + ") is not reachable from the root directory (orphan inode)");
      }
    }
  }
}
