package dev.vde.fs;

import dev.vde.VdeCorruptedException;
import dev.vde.VdeNoSpaceException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.InodeLayout;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.inode.Extent;
import dev.vde.inode.ExtentBlockCodec;
import dev.vde.inode.ExtentMap;
import dev.vde.inode.Inode;
import dev.vde.inode.InodeCodec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads, writes, allocates and frees inodes in the inode table, including their indirect extent chains.
 *
 * <p>The table is initialized lazily: blocks at or past the superblock's {@code inodeTableInitBlocks} have never
 * been written and hold only free inodes. Allocation walks forward from a hint, so the watermark grows one block
 * at a time, in the same transaction as the first inode written there.
 */
final class InodeStore {
  private final Volume vol;
  private long hint = 2;
  private final Set<Long> takenInTxn = new HashSet<>();
  private Txn takenBy;
  /**
   * Inode numbers that streamed writes still reading their streams hold (see {@link StreamedWrite}), with how many
   * hold each: a new file's number, free in the table until the write commits, or an existing file's, which stays
   * theirs if the file is deleted meanwhile. Nobody else is given them. Memory only: after a crash there is no
   * such write. Guarded by the writer lock.
   */
  private final java.util.Map<Long, Integer> streaming = new java.util.HashMap<>();

  InodeStore(Volume vol) {
    this.vol = vol;
  }

  private int perBlock(Superblock sb) {
    return InodeCodec.perBlock(sb.blockSize(), sb.inodeSize());
  }

  private long tableStart(Txn t) {
    RegionDirectory rd = t != null ? t.regions : vol.regions();
    return rd.find(RegionDirectory.TAG_INODES).start();
  }

  /** The inode-table block of the published state holding inode {@code n}'s record, for errors naming it. */
  long tableBlock(long n) {
    return tableStart(null) + n / perBlock(vol.superblock());
  }

  /** Reads inode {@code n} as transaction {@code t} sees it (null: the published state). */
  /**
   * The inode that an entry of directory {@code dir} names as {@code type}, for a reader: refused as damage unless
   * it is in use, of that type, and has {@code dir} as its parent, as every entry's inode has (there are no hard
   * links). An entry naming a free inode read as an empty file, and its inode went to the next new file; one
   * naming an ancestor made a recursive walk endless.
   */
  Inode readEntry(long dir, long n, int type, String path) throws IOException {
    return readEntry(null, dir, n, type, path);
  }

  /**
   * {@link #readEntry(long, long, int, String)} as transaction {@code t} sees it, for a writer about to change or
   * free the inode an entry names: one naming a free inode would be counted free twice, and one naming another
   * directory's file would free that file's blocks while its own entry still names them. A writer also refuses a
   * file whose link count is not 1 (reads still go through, so its content can be copied out): the engine never
   * changes a file's count, so another one means the record was not written as it stands, and a change would
   * trust the rest of it (its extents, which a delete frees) and make the damage the verifier reports vanish.
   */
  Inode readEntry(Txn t, long dir, long n, int type, String path) throws IOException {
    return readEntry(t, t != null, dir, n, type, path);
  }

  /**
   * {@link #readEntry(Txn, long, long, int, String)} with a writer's checks on the published state, for a writer
   * that refuses what it can before its transaction begins (a streamed write, before it reads the stream).
   */
  Inode readEntryToChange(long dir, long n, int type, String path) throws IOException {
    return readEntry(null, true, dir, n, type, path);
  }

  private Inode readEntry(Txn t, boolean change, long dir, long n, int type, String path) throws IOException {
    long count = (t != null ? t.sb : vol.superblock()).inodeCount();
    if (n < 1 || n >= count) {
      // The damage is in the entry, so the refusal names the directory block holding it, not a table block.
      throw new VdeCorruptedException(vol.directories.blockNaming(dir, n), "directory", path + ": its directory "
          + "entry names inode " + n + ", outside 1.." + (count - 1), vol.resource());
    }
    Inode ino = read(t, n);
    // The root is its own parent, so an entry of the root naming the root would pass the parent check.
    String bad = n == Inode.ROOT ? "the root directory, which no entry names"
        : ino.isFree() ? "which is free"
        : ino.type() != type ? "of type " + ino.type() + " where the entry says " + type
        : ino.parent() != dir ? "whose parent is inode " + ino.parent() + ", not directory inode " + dir
        : change && ino.isFile() && ino.linkCount() != 1 ? "a file with link count " + ino.linkCount()
            + " where a file has 1; nothing is changed through it (run 'vde fsck'; reading it still works)"
        : null;
    if (bad != null) {
      throw new VdeCorruptedException(tableBlock(n), "inode table", path + ": its directory entry names inode " + n
          + ", " + bad, vol.resource());
    }
    return ino;
  }

  Inode read(Txn t, long n) throws IOException {
    Superblock sb = t != null ? t.sb : vol.superblock();
    if (n < 1 || n >= sb.inodeCount()) {
      throw new VdeCorruptedException(-1, "inode table", "inode number " + n + " outside 1.." + (sb.inodeCount() - 1),
          vol.resource());
    }
    InodeLayout layout = sb.layout();
    int ipb = perBlock(sb);
    long idx = n / ipb;
    if (idx >= sb.inodeTableInitBlocks()) {
      return InodeCodec.free(n, new byte[layout.inodeSize() - InodeLayout.CORE_SIZE]);
    }
    long blockNo = tableStart(t) + idx;
    byte[] b = t != null ? t.read(blockNo, BlockType.INODE_TABLE) : vol.journal().read(blockNo, BlockType.INODE_TABLE);
    int off = (int) (n % ipb) * layout.inodeSize();
    Inode ino = InodeCodec.read(b, off, n, layout);
    if (ino.isFree()) {
      return ino;
    }
    String bad = null;
    long extentCount = InodeCodec.storedExtentCount(b, off);
    if (ino.number() != n) {
      bad = "slot of inode " + n + " holds inode number " + ino.number();
    } else if (ino.type() != Inode.TYPE_FILE && ino.type() != Inode.TYPE_DIRECTORY) {
      bad = "inode " + n + " has unknown type " + ino.type();
    } else if (ino.size() < 0 || extentCount > sb.totalBlocks()) {
      bad = "inode " + n + " has size " + ino.size() + " and " + extentCount + " extents";
    } else if (extentCount > Inode.INLINE_EXTENTS && (ino.indirectBlock() <= 0
        || ino.indirectBlock() >= sb.totalBlocks())) {
      bad = "inode " + n + " has " + extentCount + " extents but indirect block " + ino.indirectBlock();
    }
    if (bad == null) {
      bad = checkExtents(ino.extents(), sb.totalBlocks(), n);
    }
    if (bad != null) {
      throw new VdeCorruptedException(blockNo, "inode table", bad, vol.resource());
    }
    if (extentCount <= Inode.INLINE_EXTENTS) {
      return ino;
    }
    List<ChainBlock> blocks = chain(t, ino.indirectBlock(), extentCount - Inode.INLINE_EXTENTS, n);
    // The chain just used is the cached one (same instance): its last assembled list may be reused.
    CachedChain cached = cacheable(t, n) ? chainCache.get(n) : null;
    if (cached != null && cached.blocks() != blocks) {
      cached = null;
    }
    Assembled memo = cached == null ? null : cached.assembled;
    List<Extent> all;
    if (memo != null && memo.totalBlocks() == sb.totalBlocks() && memo.inline().equals(ino.extents())) {
      all = memo.all();
    } else {
      List<List<Extent>> parts = new ArrayList<>(blocks.size() + 1);
      parts.add(ino.extents());
      for (ChainBlock cb : blocks) {
        parts.add(cb.extents());
      }
      all = ExtentMap.concat(parts);
      String badChain = checkExtents(all, sb.totalBlocks(), n);
      if (badChain != null) {
        throw new VdeCorruptedException(ino.indirectBlock(), BlockType.EXTENT.structure(), badChain,
            vol.resource());
      }
      if (cached != null) {
        cached.assembled = new Assembled(List.copyOf(ino.extents()), sb.totalBlocks(), all);
      }
    }
    return new Inode(ino.number(), ino.type(), ino.flags(), ino.permissions(), ino.linkCount(), ino.size(),
        ino.created(), ino.modified(), ino.accessed(), ino.changed(), ino.indirectBlock(), ino.generation(),
        ino.parent(), all, ino.moduleArea());
  }

  /** The extent rules are ExtentMap's, whose one pass over the list also serves the next map of it. */
  private static String checkExtents(List<Extent> xs, long total, long n) {
    int i = ExtentMap.firstInvalid(xs, total);
    if (i < 0) {
      return null;
    }
    Extent e = xs.get(i);
    return "inode " + n + " has a bad extent (logical " + e.logical() + ", start " + e.start() + ", count "
        + e.count() + ")";
  }

  /** One block of an indirect extent chain. */
  record ChainBlock(long blockNo, List<Extent> extents) {}

  /**
   * A decoded chain of the published state: its first block, its extent count, its blocks; and the full extent
   * list last assembled from it and an inode's inline extents, already checked. Reading an inode of a fragmented
   * file otherwise joins and checks its whole list every time (a 4 KiB read of a file of 40,000 extents took
   * 0.1 ms, most of it that), though a write changes one chain block and a read none. The assembled list is
   * reused only with the same chain instance (entries are replaced, never changed, when a chain changes) and
   * inline extents equal to those it was built from, so it is the list a fresh join would give.
   */
  private static final class CachedChain {
    private final long head;
    private final long count;
    private final List<ChainBlock> blocks;
    volatile Assembled assembled;

    CachedChain(long head, long count, List<ChainBlock> blocks) {
      this.head = head;
      this.count = count;
      this.blocks = blocks;
    }

    long head() {
      return head;
    }

    long count() {
      return count;
    }

    List<ChainBlock> blocks() {
      return blocks;
    }
  }

  /** A checked full extent list: the inline extents and volume size it was built with, and the list. */
  private record Assembled(List<Extent> inline, long totalBlocks, List<Extent> all) {}

  /** Chains of at least this many blocks are cached; shorter ones are cheap to read. */
  static final int CACHE_MIN_BLOCKS = 4;
  /** Most chains cached at once; past it an arbitrary entry is dropped. */
  static final int CACHE_MAX_CHAINS = 64;

  /**
   * Decoded chains of the published state, by inode number, so that each operation on a fragmented file does
   * not read and verify its whole chain again. Invariant: an entry equals the chain the published state holds.
   * It holds because entries are added only from reads of the published state (a reader under the state lock's
   * read side, or a writer whose transaction has not changed that inode's chain, while no other transaction can
   * publish), and a transaction that changes a chain replaces or removes the entry when it publishes, under the
   * write side. A reopen starts empty; the verifier reads chains from the disk itself.
   */
  private final java.util.concurrent.ConcurrentHashMap<Long, CachedChain> chainCache =
      new java.util.concurrent.ConcurrentHashMap<>();

  private static boolean cacheable(Txn t, long owner) {
    return t == null || !t.chainsChanged.contains(owner);
  }

  private void remember(long owner, long head, long count, List<ChainBlock> blocks) {
    if (blocks.size() < CACHE_MIN_BLOCKS) {
      chainCache.remove(owner);
      return;
    }
    if (chainCache.size() >= CACHE_MAX_CHAINS && !chainCache.containsKey(owner)) {
      java.util.Iterator<Long> it = chainCache.keySet().iterator();
      if (it.hasNext()) {
        chainCache.remove(it.next());
      }
    }
    chainCache.put(owner, new CachedChain(head, count, List.copyOf(blocks)));
  }

  /** Records in {@code t} that inode {@code owner}'s chain becomes {@code blocks} (empty: none) when it publishes. */
  private void chainChanges(Txn t, long owner, long head, long count, List<ChainBlock> blocks) {
    t.chainsChanged.add(owner);
    List<ChainBlock> after = List.copyOf(blocks);
    t.onPublish.add(() -> {
      if (after.isEmpty()) {
        chainCache.remove(owner);
      } else {
        remember(owner, head, count, after);
      }
    });
  }

  /**
   * Walks an indirect chain holding {@code expected} extents, refusing cycles and overlong chains. Every block
   * holds at least one extent, so a chain longer than {@code expected} blocks runs on.
   */
  List<ChainBlock> chain(Txn t, long first, long expected, long owner) throws IOException {
    boolean published = cacheable(t, owner);
    if (published) {
      CachedChain c = chainCache.get(owner);
      if (c != null && c.head() == first && c.count() == expected) {
        return c.blocks();
      }
    }
    List<ChainBlock> out = new ArrayList<>();
    long maxBlocks = expected;
    long got = 0;
    long next = first;
    Superblock sb = t != null ? t.sb : vol.superblock();
    while (got < expected) {
      if (next <= 0 || next >= sb.totalBlocks() || out.size() >= maxBlocks) {
        throw new VdeCorruptedException(next, BlockType.EXTENT.structure(), "chain of inode " + owner + " ends after "
            + got + " of " + expected + " extents", vol.resource());
      }
      byte[] b = t != null ? t.read(next, BlockType.EXTENT) : vol.journal().read(next, BlockType.EXTENT);
      if (dev.vde.format.BlockCodec.storedGeneration(b) != (int) owner) {
        throw new VdeCorruptedException(next, BlockType.EXTENT.structure(), "block belongs to inode "
            + Integer.toUnsignedLong(dev.vde.format.BlockCodec.storedGeneration(b)) + ", but inode " + owner
            + " chains it", vol.resource());
      }
      ExtentBlockCodec.Decoded d = ExtentBlockCodec.read(b, next, vol.resource());
      if (d.extents().isEmpty()) {
        throw new VdeCorruptedException(next, BlockType.EXTENT.structure(), "empty block in the chain of inode "
            + owner, vol.resource());
      }
      out.add(new ChainBlock(next, d.extents()));
      got += d.extents().size();
      next = d.next();
    }
    if (got != expected) {
      throw new VdeCorruptedException(first, BlockType.EXTENT.structure(), "chain of inode " + owner + " holds "
          + got + " extents, inode says " + expected, vol.resource());
    }
    if (next != 0) {
      // The chain holds more than the inode counts (its count is short, or its last block was damaged): which
      // extents are the file's is unknown, and a copy or rewrite would keep a chain that runs on.
      ChainBlock last = out.get(out.size() - 1);
      throw new VdeCorruptedException(last.blockNo(), BlockType.EXTENT.structure(), "chain of inode " + owner
          + " goes on past its " + expected + " extents: its last block points on to block " + next,
          vol.resource());
    }
    if (published) {
      remember(owner, first, expected, out);
    }
    return out;
  }

  /**
   * Writes {@code ino} (with its full extent list) in {@code t}; {@code old} is the version it replaces (null
   * for a new inode). The indirect chain changes only when the extents past the eighth changed, and then only in
   * the blocks that hold the change (see {@link #updateChain}).
   */
  Inode write(Txn t, Inode ino, Inode old) throws IOException {
    List<Extent> xs = ino.extents();
    List<Extent> oldXs = old != null ? old.extents() : List.of();
    List<Extent> tail = xs.size() > Inode.INLINE_EXTENTS ? xs.subList(Inode.INLINE_EXTENTS, xs.size()) : List.of();
    List<Extent> oldTail = oldXs.size() > Inode.INLINE_EXTENTS
        ? oldXs.subList(Inode.INLINE_EXTENTS, oldXs.size()) : List.of();
    long indirect = old != null ? old.indirectBlock() : 0;
    // The tails are equal when they share all of both; the shared start is kept for updateChain.
    int same = sharedStart(oldXs, xs, Inode.INLINE_EXTENTS, Math.min(oldTail.size(), tail.size()));
    if (same < oldTail.size() || same < tail.size()) {
      boolean hadChain = old != null && old.indirectBlock() != 0 && !oldTail.isEmpty();
      List<ChainBlock> now;
      if (hadChain && !tail.isEmpty()) {
        now = updateChain(t, chain(t, old.indirectBlock(), oldTail.size(), old.number()), oldXs, xs, same,
            ino.number());
      } else {
        if (hadChain) {
          for (ChainBlock cb : chain(t, old.indirectBlock(), oldTail.size(), old.number())) {
            t.free(cb.blockNo(), 1);
          }
        }
        now = tail.isEmpty() ? List.of() : writeChain(t, tail, ino.number());
      }
      indirect = now.isEmpty() ? 0 : now.get(0).blockNo();
      chainChanges(t, ino.number(), indirect, tail.size(), now);
    }
    Inode fin = new Inode(ino.number(), ino.type(), ino.flags(), ino.permissions(), ino.linkCount(), ino.size(),
        ino.created(), ino.modified(), ino.accessed(), ino.changed(), indirect, ino.generation(), ino.parent(), xs,
        ino.moduleArea());
    put(t, fin);
    return fin;
  }

  /**
   * Changes an existing chain from the tail of {@code oldXs} (its extents past the eighth) to that of
   * {@code newXs}, which share their first {@code p} extents, by rewriting only the blocks that hold the
   * difference: the extents both tails share at their start and at their end stay where they are, the blocks
   * holding the rest (widened to whole blocks, plus the next block when that lets a short last block merge into
   * it) are repacked from their first, reusing their block numbers, allocating more or freeing the surplus.
   * A random overwrite in a file of thousands of extents thus rewrites one or two chain blocks, not the chain.
   * Blocks before the end of the chain may be left partly filled; the first time that happens the superblock
   * takes {@link Superblock#INCOMPAT_LOOSE_EXTENT_CHAINS}, in the same transaction. Returns the new chain.
   */
  private List<ChainBlock> updateChain(Txn t, List<ChainBlock> blocks, List<Extent> oldXs, List<Extent> newXs,
      int p, long owner) throws IOException {
    int per = ExtentBlockCodec.perBlock(vol.blockSize());
    int oldLen = oldXs.size() - Inode.INLINE_EXTENTS;
    int newLen = newXs.size() - Inode.INLINE_EXTENTS;
    int s = sharedEnd(oldXs, newXs, Math.min(oldLen - p, newLen - p));
    int m = blocks.size();
    int[] lo = new int[m + 1];
    for (int i = 0; i < m; i++) {
      lo[i + 1] = lo[i] + blocks.get(i).extents().size();
    }
    int first = blockHolding(lo, Math.min(p, oldLen - 1));
    int last = oldLen - s - 1 < p ? first : blockHolding(lo, oldLen - s - 1);
    int delta = newLen - oldLen;
    int spanLen = lo[last + 1] + delta - lo[first];
    if (spanLen % per != 0 && last + 1 < m && spanLen % per + blocks.get(last + 1).extents().size() <= per) {
      last++;
      spanLen += blocks.get(last).extents().size();
    }
    int spanAt = Inode.INLINE_EXTENTS + lo[first];
    long after = last + 1 < m ? blocks.get(last + 1).blockNo() : 0;
    int k = (spanLen + per - 1) / per;
    List<Long> nums = new ArrayList<>();
    for (int i = first; i <= last && nums.size() < k; i++) {
      nums.add(blocks.get(i).blockNo());
    }
    for (int i = first + nums.size(); i <= last; i++) {
      t.free(blocks.get(i).blockNo(), 1);
    }
    while (nums.size() < k) {
      long[] run = t.allocate(k - nums.size(), 0);
      for (long i = 0; i < run[1]; i++) {
        nums.add(run[0] + i);
      }
    }
    List<ChainBlock> result = new ArrayList<>(blocks.subList(0, first));
    for (int i = 0; i < k; i++) {
      List<Extent> part = ExtentMap.slice(newXs, spanAt + i * per, spanAt + Math.min(spanLen, (i + 1) * per));
      long next = i + 1 < k ? nums.get(i + 1) : after;
      t.put(nums.get(i), BlockType.EXTENT, (int) owner, ExtentBlockCodec.write(vol.blockSize(), part, next, owner));
      result.add(new ChainBlock(nums.get(i), part));
    }
    result.addAll(blocks.subList(last + 1, m));
    if (k == 0 && first > 0) {
      // The span's blocks are gone: the block before them now points past them (or the inode does, below).
      ChainBlock prev = blocks.get(first - 1);
      t.put(prev.blockNo(), BlockType.EXTENT, (int) owner,
          ExtentBlockCodec.write(vol.blockSize(), prev.extents(), after, owner));
    }
    if (k > 0 && spanLen % per != 0 && after != 0
        && (t.sb.incompat() & Superblock.INCOMPAT_LOOSE_EXTENT_CHAINS) == 0) {
      t.sb = t.sb.withIncompat(t.sb.incompat() | Superblock.INCOMPAT_LOOSE_EXTENT_CHAINS);
    }
    return result;
  }

  /**
   * How many extents from {@code from} on are equal in both lists, up to {@code max}. A rewrite keeps the
   * untouched extents as the same objects, so comparing references first spares most field comparisons.
   */
  private static int sharedStart(List<Extent> a, List<Extent> b, int from, int max) {
    int k = 0;
    while (k < max && same(a.get(from + k), b.get(from + k))) {
      k++;
    }
    return k;
  }

  /** How many extents at the ends of both lists are equal, up to {@code max}. */
  private static int sharedEnd(List<Extent> a, List<Extent> b, int max) {
    int ia = a.size() - 1;
    int ib = b.size() - 1;
    int k = 0;
    while (k < max && same(a.get(ia - k), b.get(ib - k))) {
      k++;
    }
    return k;
  }

  private static boolean same(Extent x, Extent y) {
    return x == y || x.equals(y);
  }

  /**
   * Index of the chain block holding extent {@code index}, given the blocks' cumulative counts {@code lo} (which
   * increase strictly, every block holding an extent).
   */
  private static int blockHolding(int[] lo, int index) {
    int b = 0;
    int hi = lo.length - 2;
    while (b < hi) {
      int mid = (b + hi + 1) >>> 1;
      if (lo[mid] <= index) {
        b = mid;
      } else {
        hi = mid - 1;
      }
    }
    return b;
  }

  private List<ChainBlock> writeChain(Txn t, List<Extent> tail, long owner) throws IOException {
    int per = ExtentBlockCodec.perBlock(vol.blockSize());
    int n = (tail.size() + per - 1) / per;
    List<Long> blocks = new ArrayList<>(n);
    while (blocks.size() < n) {
      long[] run = t.allocate(n - blocks.size(), 0);
      for (long i = 0; i < run[1]; i++) {
        blocks.add(run[0] + i);
      }
    }
    List<ChainBlock> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      List<Extent> part = ExtentMap.slice(tail, i * per, Math.min(tail.size(), (i + 1) * per));
      long next = i + 1 < n ? blocks.get(i + 1) : 0;
      t.put(blocks.get(i), BlockType.EXTENT, (int) owner,
          ExtentBlockCodec.write(vol.blockSize(), part, next, owner));
      out.add(new ChainBlock(blocks.get(i), part));
    }
    return out;
  }

  /** Stores the inode record (inline part) in its table block, initializing table blocks up to it. */
  private void put(Txn t, Inode ino) throws IOException {
    Superblock sb = t.sb;
    int ipb = perBlock(sb);
    long idx = ino.number() / ipb;
    long start = tableStart(t);
    if (idx >= sb.inodeTableInitBlocks()) {
      for (long k = sb.inodeTableInitBlocks(); k <= idx; k++) {
        refuseLiveBlockPastInit(sb, start + k, k);
        t.put(start + k, BlockType.INODE_TABLE, (int) k, new byte[vol.blockSize()]);
      }
      t.sb = sb.withCounts(sb.inodesUsed(), sb.freeBlocks(), idx + 1, sb.modifiedMillis());
    }
    byte[] b = t.edit(start + idx, BlockType.INODE_TABLE, (int) idx);
    int off = (int) (ino.number() % ipb) * sb.inodeSize();
    InodeCodec.write(b, off, ino, sb.layout());
    MigrationTarget mig = vol.migrationTarget();
    if (mig != null && ino.number() < mig.watermark()) {
      // Below the watermark the new table must stay current too (MigrationTarget invariant).
      long nidx = ino.number() / mig.perBlock();
      byte[] nb = t.edit(mig.newTableStart() + nidx, BlockType.INODE_TABLE, (int) nidx);
      mig.converter().convert(b, off, nb, (int) (ino.number() % mig.perBlock()) * mig.converter().to().inodeSize());
    }
  }

  /**
   * Refuses to initialize table block {@code k} (at {@code blockNo}) when it already holds inodes in use: a valid
   * INOD block of this index whose records carry their own slot's numbers. Only a superblock whose count of
   * initialized table blocks was damaged low (checksum intact) leaves one past that count, and writing free
   * records over it would drop every file whose inode it holds. A block never written, or one left by another
   * table (another index, inode size or numbering), is not taken for one.
   */
  private void refuseLiveBlockPastInit(Superblock sb, long blockNo, long k) throws IOException {
    byte[] b = vol.journal().readRaw(blockNo);
    if (!BlockCodec.checksumMatches(b) || BlockCodec.storedTag(b) != BlockType.INODE_TABLE.tag()
        || BlockCodec.storedGeneration(b) != (int) k) {
      return;
    }
    int ipb = perBlock(sb);
    for (int slot = 0; slot < ipb; slot++) {
      int off = slot * sb.inodeSize();
      long number = k * ipb + slot;
      if (Bytes.u8(b, off + 4) != Inode.TYPE_FREE && Bytes.u32(b, off) == number) {
        throw new VdeCorruptedException(blockNo, "inode table", "block " + k + " of the inode table holds inode "
            + number + " in use, past the " + sb.inodeTableInitBlocks() + " initialized blocks the superblock "
            + "counts; the count is damaged, and initializing the block would drop the files it holds",
            vol.resource());
      }
    }
  }

  /** Picks a free inode number for {@code t}; the caller must write it in the same transaction. */
  long allocate(Txn t) throws IOException {
    Superblock sb = t.sb;
    if (takenBy != t) {
      takenBy = t;
      takenInTxn.clear();
    }
    long taken = takenNotYetWritten(t);
    if (sb.inodesUsed() + taken + freeButStreaming(t) >= sb.inodeCount() - 1) {
      // An operation that takes several (mkdirs) may be what used them up: say so, not that all were in use.
      long byThis = sb.inodesUsed() - vol.superblock().inodesUsed() + taken;
      throw new VdeNoSpaceException("no free inodes: " + (byThis <= 0 ? "all " + (sb.inodeCount() - 1)
          + " are in use" : "the operation needs more than the " + byThis + " free (of " + (sb.inodeCount() - 1)
          + ")") + "; create the volume with more (--inodes)", true);
    }
    long count = sb.inodeCount();
    for (long tries = 0, n = Math.max(2, hint % count); tries < count; tries++, n = n + 1 >= count ? 2 : n + 1) {
      if (takenInTxn.contains(n) || streaming.containsKey(n)) {
        continue;
      }
      if (read(t, n).isFree()) {
        takenInTxn.add(n);
        hint = n + 1;
        return n;
      }
    }
    throw new VdeNoSpaceException("no free inodes left");
  }

  /**
   * Holds an inode number for a streamed write, under the writer lock: {@code existing} (an existing file's, kept
   * from reuse if the file goes away meanwhile) or, when it is 0, a free number nobody else will be given.
   */
  long holdForStream(long existing) throws IOException {
    long n = existing;
    if (n == 0) {
      Txn probe = vol.begin();
      try {
        n = allocate(probe);
      } finally {
        vol.abort(probe);
        takenBy = null;
        takenInTxn.clear();
      }
    }
    streaming.merge(n, 1, Integer::sum);
    return n;
  }

  /** Ends one hold of {@link #holdForStream}; under the writer lock. */
  void releaseStream(long n) {
    streaming.computeIfPresent(n, (k, holds) -> holds == 1 ? null : holds - 1);
  }

  /**
   * Numbers this transaction took whose records it has not written yet. Once written, a new inode is in the
   * transaction's used count ({@link #countUsed}), so counting every taken number as well would count it twice.
   */
  private int takenNotYetWritten(Txn t) throws IOException {
    int n = 0;
    for (long taken : takenInTxn) {
      if (read(t, taken).isFree()) {
        n++;
      }
    }
    return n;
  }

  /** Held numbers still free in the table: they count as used when deciding whether any inode is left. */
  private int freeButStreaming(Txn t) throws IOException {
    int free = 0;
    for (long n : streaming.keySet()) {
      if (!takenInTxn.contains(n) && n < t.sb.inodeCount() && read(t, n).isFree()) {
        free++;
      }
    }
    return free;
  }

  /** Adjusts the used-inode count in {@code t}. */
  void countUsed(Txn t, int delta) throws VdeCorruptedException {
    Superblock sb = t.sb;
    long used = sb.inodesUsed() + delta;
    if (used < 1) {
      // The root is always in use, so the count was damaged low. Taken below zero it made a superblock image that
      // no checkpoint and no recovery accepts: the volume stopped, and recovery dropped the transaction whose
      // blocks the failed checkpoint had already put in place.
      throw new VdeCorruptedException(0, "superblock", "inodes used is " + sb.inodesUsed() + ", too few for the "
          + "inodes in use (the root is one of them), so it cannot count one less; nothing is deleted (run 'vde "
          + "fsck'; a copy of the volume counts them anew)", vol.resource());
    }
    t.sb = sb.withCounts(used, sb.freeBlocks(), sb.inodeTableInitBlocks(), sb.modifiedMillis());
  }

  /** Frees inode {@code ino}: its data blocks, its chain, its record. */
  void free(Txn t, Inode ino) throws IOException {
    for (Extent e : ino.extents()) {
      t.free(e.start(), e.count());
    }
    if (ino.indirectBlock() != 0 && ino.extents().size() > Inode.INLINE_EXTENTS) {
      for (ChainBlock cb : chain(t, ino.indirectBlock(), ino.extents().size() - Inode.INLINE_EXTENTS,
          ino.number())) {
        t.free(cb.blockNo(), 1);
      }
      chainChanges(t, ino.number(), 0, 0, List.of());
    }
    put(t, InodeCodec.free(ino.number(), new byte[t.sb.inodeSize() - InodeLayout.CORE_SIZE]));
    countUsed(t, -1);
    if (ino.number() < hint) {
      hint = ino.number();
    }
  }
}
