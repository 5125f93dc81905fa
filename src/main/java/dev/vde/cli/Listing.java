package dev.vde.cli;

import dev.vde.VdeCorruptedException;
import dev.vde.fs.DirEntry;
import dev.vde.fs.FileStat;
import dev.vde.fs.FileType;
import dev.vde.fs.VirtualDisk;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;

/** What {@code vde ls} shows: entries under a path, sorted by name, optionally the whole tree below it. */
final class Listing {
  private Listing() {}

  /** One listed entry; also the shape of each element of {@code vde ls --json}. A null size: not readable. */
  record Item(String path, String type, Long size) {}

  /** A file lists as itself; a directory lists its entries (and, recursively, theirs). */
  static List<Item> of(VirtualDisk disk, String path, boolean recursive) throws IOException {
    return of(disk, path, recursive, null);
  }

  /**
   * Like {@link #of(VirtualDisk, String, boolean)}, but damage is noted in {@code unreadable} instead of ending
   * the listing, so that it hides only what it hides: a directory whose own blocks are damaged is listed without
   * its entries; an entry whose inode lies in a damaged inode-table block is listed by name with no size (and
   * not descended into). With {@code unreadable} null, the first damage ends it.
   */
  static List<Item> of(VirtualDisk disk, String path, boolean recursive, List<VdeCorruptedException> unreadable)
      throws IOException {
    List<Item> items = new ArrayList<>();
    FileStat stat = disk.stat(path);
    if (stat.type() == FileType.FILE) {
      items.add(new Item(stat.path(), stat.type().jsonName(), stat.size()));
    } else {
      addChildren(disk, path, stat.inode(), recursive, items, unreadable);
    }
    return items;
  }

  /**
   * Adds the entries below {@code dir}, depth first, each directory's sorted by name. A stack of its own rather
   * than recursion, so that a deep tree cannot exhaust the thread's stack. The engine refuses an entry that would
   * lead back up the tree (its inode's parent is another directory), but not one whose target's parent field was
   * damaged to match, which a listing that starts below the root would follow without end: a directory met again
   * on the way down is damage here.
   */
  private static void addChildren(VirtualDisk disk, String dir, long dirInode, boolean recursive, List<Item> items,
      List<VdeCorruptedException> unreadable) throws IOException {
    ArrayDeque<Iterator<DirEntry>> stack = new ArrayDeque<>();
    ArrayDeque<Long> path = new ArrayDeque<>();
    java.util.Set<Long> onPath = new java.util.HashSet<>();
    stack.push(sortedEntries(disk, dir, unreadable).iterator());
    path.push(dirInode);
    onPath.add(dirInode);
    while (!stack.isEmpty()) {
      Iterator<DirEntry> it = stack.peek();
      if (!it.hasNext()) {
        stack.pop();
        onPath.remove(path.pop());
        continue;
      }
      DirEntry e = it.next();
      Long size = e.size();
      if (e.size() < 0) {
        // Listed from the directory's blocks alone: each entry's own inode says whether it can be read.
        try {
          size = disk.stat(e.path()).size();
        } catch (VdeCorruptedException damage) {
          unreadable.add(damage);
          items.add(new Item(e.path(), e.type().jsonName(), null));
          continue;
        }
      }
      items.add(new Item(e.path(), e.type().jsonName(), size));
      if (recursive && e.type() == FileType.DIRECTORY) {
        try {
          if (onPath.contains(e.inode())) {
            throw new VdeCorruptedException(-1, "directory tree", e.path() + ": its entry names directory inode "
                + e.inode() + ", which contains it (a directory cycle)", disk.volume().resource());
          }
          stack.push(sortedEntries(disk, e.path(), unreadable).iterator());
          path.push(e.inode());
          onPath.add(e.inode());
        } catch (VdeCorruptedException damage) {
          if (unreadable == null) {
            throw damage;
          }
          unreadable.add(damage);
        }
      }
    }
  }

  /** The entries of {@code dir} sorted by name; with {@code unreadable}, from its blocks alone if need be. */
  private static List<DirEntry> sortedEntries(VirtualDisk disk, String dir, List<VdeCorruptedException> unreadable)
      throws IOException {
    List<DirEntry> entries;
    try {
      entries = new ArrayList<>(disk.list(dir));
    } catch (VdeCorruptedException damage) {
      if (unreadable == null) {
        throw damage;
      }
      // Perhaps only some entries' inodes are unreadable: the directory's own blocks may still name them all.
      entries = new ArrayList<>(disk.listEntries(dir));
    }
    entries.sort(Comparator.comparing(DirEntry::name));
    return entries;
  }

  /** Aligned columns: type, size in bytes (a dash for directories), path. */
  static List<String> text(List<Item> items) {
    TextTable table = new TextTable(false, true, false);
    for (Item item : items) {
      boolean directory = FileType.DIRECTORY.jsonName().equals(item.type());
      String size = item.size() == null ? "?" : directory ? "-" : Long.toString(item.size());
      table.row(item.type(), size, item.path());
    }
    return table.lines("");
  }
}
