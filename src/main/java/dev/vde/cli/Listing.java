package dev.vde.cli;

import dev.vde.VdeCorruptedException;
import dev.vde.fs.DirEntry;
import dev.vde.fs.FileStat;
import dev.vde.fs.FileType;
import dev.vde.fs.VirtualDisk;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** What {@code vde ls} shows: entries under a path, sorted by name, optionally the whole tree below it. */
final class Listing {
  private Listing() {}

  /** One listed entry; also the shape of each element of {@code vde ls --json}. */
  record Item(String path, String type, long size) {}

  /** A file lists as itself; a directory lists its entries (and, recursively, theirs). */
  static List<Item> of(VirtualDisk disk, String path, boolean recursive) throws IOException {
    return of(disk, path, recursive, null);
  }

  /**
   * Like {@link #of(VirtualDisk, String, boolean)}, but a subdirectory below {@code path} that cannot be read
   * (damage) is noted in {@code unreadable} and skipped instead of ending the listing, so that a damaged
   * directory hides only itself. With {@code unreadable} null, the first damage ends it.
   */
  static List<Item> of(VirtualDisk disk, String path, boolean recursive, List<VdeCorruptedException> unreadable)
      throws IOException {
    List<Item> items = new ArrayList<>();
    FileStat stat = disk.stat(path);
    if (stat.type() == FileType.FILE) {
      items.add(new Item(stat.path(), stat.type().jsonName(), stat.size()));
    } else {
      addChildren(disk, path, recursive, items, unreadable);
    }
    return items;
  }

  private static void addChildren(VirtualDisk disk, String dir, boolean recursive, List<Item> items,
      List<VdeCorruptedException> unreadable) throws IOException {
    List<DirEntry> entries = new ArrayList<>(disk.list(dir));
    entries.sort(Comparator.comparing(DirEntry::name));
    for (DirEntry e : entries) {
      items.add(new Item(e.path(), e.type().jsonName(), e.size()));
      if (recursive && e.type() == FileType.DIRECTORY) {
        try {
          addChildren(disk, e.path(), true, items, unreadable);
        } catch (VdeCorruptedException damage) {
          if (unreadable == null) {
            throw damage;
          }
          unreadable.add(damage);
        }
      }
    }
  }

  /** Aligned columns: type, size in bytes (a dash for directories), path. */
  static List<String> text(List<Item> items) {
    TextTable table = new TextTable(false, true, false);
    for (Item item : items) {
      boolean directory = FileType.DIRECTORY.jsonName().equals(item.type());
      table.row(item.type(), directory ? "-" : Long.toString(item.size()), item.path());
    }
    return table.lines("");
  }
}
