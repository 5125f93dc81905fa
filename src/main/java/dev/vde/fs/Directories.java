package dev.vde.fs;

import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockType;
import dev.vde.inode.Extent;
import dev.vde.inode.ExtentMap;
import dev.vde.inode.Inode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Directory contents: DIRE blocks mapped by the directory inode's extents (logical block i holds a share of the
 * entries; a directory's size is its block count times the block payload). A cache keeps each directory's
 * name index and the free bytes of each of its blocks; it changes only when a transaction is published
 * (under the volume's state lock), so readers and the one writer always see one consistent version.
 * Emptied blocks stay with the directory and are reused by later entries.
 */
final class Directories {
  /** Where a name lives. */
  record Slot(long inode, int type, int blockIndex) {}

  /** Cached view of one directory. */
  static final class Dir {
    final long inode;
    /**
     * The directory inode's {@code parent} field as published (the root's is itself). Kept here so that a lookup
     * can check each entry along a path against the directory it names without reading that inode again: changed
     * only at publish, by the move that rewrites the field.
     */
    long parent;
    final ArrayList<Long> blocks = new ArrayList<>();
    final ArrayList<Integer> freeBytes = new ArrayList<>();
    final HashMap<String, Slot> names = new HashMap<>();

    Dir(long inode, long parent) {
      this.inode = inode;
      this.parent = parent;
    }

    List<DirectoryBlockCodec.Entry> entries() {
      List<DirectoryBlockCodec.Entry> out = new ArrayList<>(names.size());
      names.forEach((n, s) -> out.add(new DirectoryBlockCodec.Entry(n, s.inode(), s.type())));
      out.sort((a, b) -> a.name().compareTo(b.name()));
      return out;
    }
  }

  private final Volume vol;
  private final ConcurrentHashMap<Long, Dir> cache = new ConcurrentHashMap<>();

  Directories(Volume vol) {
    this.vol = vol;
  }

  /** The published directory {@code ino}, loading it on first use. */
  Dir get(long ino) throws IOException {
    Dir d = cache.get(ino);
    if (d != null) {
      return d;
    }
    d = load(ino);
    Dir prev = cache.putIfAbsent(ino, d);
    return prev != null ? prev : d;
  }

  /**
   * The directory that an entry of directory {@code holder} names as directory {@code ino}, on the way along
   * {@code path} (the path up to and including that entry). The entry must name a directory inode in use whose
   * parent is {@code holder}, and not the root, which no entry names, as for the entry an operation ends at
   * ({@link InodeStore#readEntry}): through an entry naming another directory a lookup would go on in that
   * directory, and a change made there (a new file, a delete) would land in the wrong place or, by a name that
   * entry shares with the real one, free another file. The inode is read (and the entry refused, naming the path
   * and the inode-table block) only when {@link #cachedChild} has no answer.
   */
  Dir named(long holder, long ino, String path) throws IOException {
    vol.inodes.readEntry(null, holder, ino, Inode.TYPE_DIRECTORY, path);
    Dir d = get(ino);
    if (d.parent != holder) {
      // The published inode says holder (readEntry passed), so the cached field missed a move: a bug, not damage.
      throw new IllegalStateException("cached directory inode " + ino + " has parent " + d.parent
          + ", its inode " + holder);
    }
    return d;
  }

  /**
   * {@link #named} without a read: directory {@code ino} when it is cached and its parent is {@code holder}, else
   * null. A cached directory knows its parent, so checking each entry along a path costs a comparison.
   */
  Dir cachedChild(long holder, long ino) {
    Dir d = cache.get(ino);
    return d != null && d.parent == holder && ino != Inode.ROOT ? d : null;
  }

  /**
   * The block of the published directory {@code dir} that holds an entry naming inode {@code child}, for naming it
   * in a refusal of that entry; -1 when the directory is not cached or holds no such entry. A scan of the
   * directory's names, so only for the error path.
   */
  long blockNaming(long dir, long child) {
    Dir d = cache.get(dir);
    if (d == null) {
      return -1;
    }
    for (Slot s : d.names.values()) {
      if (s.inode() == child && s.blockIndex() >= 0 && s.blockIndex() < d.blocks.size()) {
        return d.blocks.get(s.blockIndex());
      }
    }
    return -1;
  }

  /** Records that directory {@code ino} now lies in directory {@code parent}; runs at publish of the move. */
  void moved(long ino, long parent) {
    Dir d = cache.get(ino);
    if (d != null) {
      d.parent = parent;
    }
  }

  private Dir load(long ino) throws IOException {
    Inode in = vol.inodes.read(null, ino);
    if (!in.isDirectory()) {
      throw new VdeCorruptedException(vol.inodes.tableBlock(ino), "inode table", "inode " + ino + " is used as a "
          + "directory but is " + (in.isFree() ? "free" : "a file"), vol.resource());
    }
    int payload = vol.payload();
    if (in.size() % payload != 0) {
      throw new VdeCorruptedException(vol.inodes.tableBlock(ino), "inode table", "directory inode " + ino
          + " has size " + in.size() + ", not a multiple of the block payload " + payload, vol.resource());
    }
    long n = in.size() / payload;
    long past = ExtentMap.nextMapped(in.extents(), n);
    if (past != Long.MAX_VALUE) {
      // A directory grows by mapping logical block n: over a block already mapped there that would commit
      // overlapping extents, and the directory (every entry in it) would no longer read at all. What such a block
      // holds is not in the directory either, and deleting the directory as empty would free it with whatever
      // entries it holds still in use.
      throw new VdeCorruptedException(vol.inodes.tableBlock(ino), "inode table", "directory inode " + ino
          + " has size " + in.size() + " (" + n + " blocks) but maps logical block " + past + " past it",
          vol.resource());
    }
    Dir d = new Dir(ino, in.parent());
    int cap = DirectoryBlockCodec.capacity(vol.blockSize());
    for (int i = 0; i < n; i++) {
      long phys = ExtentMap.physical(in.extents(), i);
      if (phys < 0) {
        throw new VdeCorruptedException(vol.inodes.tableBlock(ino), "inode table", "directory inode " + ino
            + " has a hole at block " + i, vol.resource());
      }
      byte[] b = vol.journal().read(phys, BlockType.DIRECTORY);
      int owner = dev.vde.format.BlockCodec.storedGeneration(b);
      if (owner != (int) ino) {
        throw new VdeCorruptedException(phys, "directory", "block belongs to inode " + Integer.toUnsignedLong(owner)
            + ", but directory inode " + ino + " maps it", vol.resource());
      }
      List<DirectoryBlockCodec.Entry> es = DirectoryBlockCodec.read(b, phys, vol.resource());
      int used = 0;
      for (DirectoryBlockCodec.Entry e : es) {
        used += e.encodedSize();
        if (d.names.put(e.name(), new Slot(e.inode(), e.type(), i)) != null) {
          throw new VdeCorruptedException(phys, "directory", "name '" + e.name() + "' appears twice in directory "
              + ino, vol.resource());
        }
      }
      d.blocks.add(phys);
      d.freeBytes.add(cap - used);
    }
    return d;
  }

  /** Forgets a directory (it was deleted); runs at publish. */
  void forget(long ino) {
    cache.remove(ino);
  }

  /** Registers a directory created by a transaction; runs at publish. */
  void register(Dir d) {
    cache.put(d.inode, d);
  }

  /** Adds {@code name -> child} to directory {@code d} in transaction {@code t}. */
  void add(Txn t, Dir d, String name, long child, int type) throws IOException {
    int need = DirectoryBlockCodec.ENTRY_OVERHEAD + name.getBytes(StandardCharsets.UTF_8).length;
    int cap = DirectoryBlockCodec.capacity(vol.blockSize());
    DirectoryBlockCodec.Entry entry = new DirectoryBlockCodec.Entry(name, child, type);
    for (int i = d.blocks.size() - 1; i >= 0; i--) {
      if (d.freeBytes.get(i) < need && !t.images.containsKey(d.blocks.get(i))) {
        continue;
      }
      long blk = d.blocks.get(i);
      int used = DirectoryBlockCodec.usedBytes(t.read(blk, BlockType.DIRECTORY), blk, vol.resource());
      if (cap - used < need) {
        continue;
      }
      // Entries are packed in no particular order, so the new one goes at the end of the used bytes.
      DirectoryBlockCodec.append(t.edit(blk, BlockType.DIRECTORY, (int) d.inode), entry);
      int idx = i;
      int free = cap - used - need;
      t.onPublish.add(() -> {
        d.names.put(name, new Slot(child, type, idx));
        d.freeBytes.set(idx, free);
      });
      return;
    }
    // No room: the directory grows by one block, placed after its last one when that is free.
    long near = d.blocks.isEmpty() ? 0 : d.blocks.get(d.blocks.size() - 1) + 1;
    long[] run = t.allocate(1, near);
    long blk = run[0];
    t.put(blk, BlockType.DIRECTORY, (int) d.inode, DirectoryBlockCodec.write(vol.blockSize(), List.of(entry),
        d.inode));
    Inode di = vol.inodes.read(t, d.inode);
    int idx = d.blocks.size();
    List<Extent> xs = ExtentMap.map(di.extents(), List.of(new Extent(idx, blk, 1)));
    long now = System.currentTimeMillis();
    vol.inodes.write(t, di.withExtents(xs, (long) (idx + 1) * vol.payload(), di.indirectBlock(), now), di);
    int free = cap - need;
    t.onPublish.add(() -> {
      d.blocks.add(blk);
      d.freeBytes.add(free);
      d.names.put(name, new Slot(child, type, idx));
    });
  }

  /** Removes {@code name} from directory {@code d} in transaction {@code t}. */
  void remove(Txn t, Dir d, String name) throws IOException {
    Slot s = d.names.get(name);
    long blk = d.blocks.get(s.blockIndex());
    List<DirectoryBlockCodec.Entry> es =
        new ArrayList<>(DirectoryBlockCodec.read(t.read(blk, BlockType.DIRECTORY), blk, vol.resource()));
    es.removeIf(e -> e.name().equals(name));
    int used = 0;
    for (DirectoryBlockCodec.Entry e : es) {
      used += e.encodedSize();
    }
    t.put(blk, BlockType.DIRECTORY, (int) d.inode, DirectoryBlockCodec.write(vol.blockSize(), es, d.inode));
    int free = DirectoryBlockCodec.capacity(vol.blockSize()) - used;
    int idx = s.blockIndex();
    t.onPublish.add(() -> {
      d.names.remove(name);
      d.freeBytes.set(idx, free);
    });
  }
}
