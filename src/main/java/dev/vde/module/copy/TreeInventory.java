package dev.vde.module.copy;

import dev.vde.VdeCorruptedException;
import dev.vde.fs.DirectoryBlockCodec;
import dev.vde.inode.Inode;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The directory tree as the source's inode table and directory blocks describe it, checked before a copy writes
 * anything. The copy carries directory blocks and inode records over as they are, so an entry naming a free or
 * foreign inode, a directory cycle or a wrong link count would reach a volume that looks new and fails
 * {@code vde fsck} at once. The rules are the format's (FORMAT.md sections 9 and 13): every live inode but the
 * root is named by exactly one entry, in the directory its {@code parent} names, with its type; every directory
 * leads up to the root; a file has one link, a directory two plus its subdirectories.
 *
 * <p>Memory: 13 bytes per live inode and 17 per entry, in arrays (inode numbers come in ascending order from the
 * table scan, so they are searched, not hashed), and the names of the one directory being read.
 */
final class TreeInventory {
  static final String SUFFIX = "; a copy does not carry damage into a new volume (run 'vde fsck', or copy "
      + "the files out with 'vde get')";

  private final String resource;
  private final long inodeCount;
  private final long tableStart;
  private final int perBlock;

  private int live;
  private int[] nums = new int[64];
  private int[] parents = new int[64];
  private int[] links = new int[64];
  private byte[] types = new byte[64];

  private int entries;
  private int[] targets = new int[64];
  private int[] dirs = new int[64];
  private byte[] entryTypes = new byte[64];
  private long[] blocks = new long[64];

  TreeInventory(String resource, long inodeCount, long tableStart, int perBlock) {
    this.resource = resource;
    this.inodeCount = inodeCount;
    this.tableStart = tableStart;
    this.perBlock = perBlock;
  }

  /** Records a live inode; inodes come in ascending order. */
  void inode(Inode ino) {
    if (live == nums.length) {
      int n = live * 2;
      nums = Arrays.copyOf(nums, n);
      parents = Arrays.copyOf(parents, n);
      links = Arrays.copyOf(links, n);
      types = Arrays.copyOf(types, n);
    }
    nums[live] = (int) ino.number();
    parents[live] = (int) ino.parent();
    links[live] = (int) Math.min(ino.linkCount(), 0xFFFFFFFFL);
    types[live] = (byte) ino.type();
    live++;
  }

  /**
   * Records the entries of directory {@code dir}'s block {@code blockNo}; refuses one naming no possible inode, and
   * a name already in {@code names}, the names of the directory's blocks before this one (the engine refuses such
   * a directory when it loads it).
   */
  void entries(long dir, long blockNo, List<DirectoryBlockCodec.Entry> es, Set<String> names)
      throws VdeCorruptedException {
    for (DirectoryBlockCodec.Entry e : es) {
      if (e.inode() <= Inode.ROOT || e.inode() >= inodeCount) {
        throw corrupt(blockNo, "directory", "entry '" + e.name() + "' of directory inode " + dir + " names inode "
            + e.inode() + (e.inode() == Inode.ROOT ? ", the root directory" : ", outside 2.." + (inodeCount - 1)));
      }
      if (!names.add(e.name())) {
        throw corrupt(blockNo, "directory", "name '" + e.name() + "' appears twice in directory inode " + dir);
      }
      if (entries == targets.length) {
        int n = entries * 2;
        targets = Arrays.copyOf(targets, n);
        dirs = Arrays.copyOf(dirs, n);
        entryTypes = Arrays.copyOf(entryTypes, n);
        blocks = Arrays.copyOf(blocks, n);
      }
      targets[entries] = (int) e.inode();
      dirs[entries] = (int) dir;
      entryTypes[entries] = (byte) e.type();
      blocks[entries] = blockNo;
      entries++;
    }
  }

  /** Checks everything recorded; the first problem found is thrown. */
  void check() throws VdeCorruptedException {
    int root = find(Inode.ROOT);
    if (root < 0 || types[root] != Inode.TYPE_DIRECTORY) {
      throw corrupt(tableStart, "inode table", "the root directory (inode 1) is not a directory in use");
    }
    boolean[] named = new boolean[live];
    int[] subdirs = new int[live];
    for (int k = 0; k < entries; k++) {
      long target = Integer.toUnsignedLong(targets[k]);
      long dir = Integer.toUnsignedLong(dirs[k]);
      int i = find(target);
      String bad = i < 0 ? "which is free"
          : types[i] != entryTypes[k] ? "of type " + types[i] + " where the entry says " + entryTypes[k]
          : Integer.toUnsignedLong(parents[i]) != dir ? "whose parent is inode " + Integer.toUnsignedLong(parents[i])
          : named[i] ? "which another entry names too" : null;
      if (bad != null) {
        throw corrupt(blocks[k], "directory", "an entry of directory inode " + dir + " names inode " + target + ", "
            + bad);
      }
      named[i] = true;
      if (types[i] == Inode.TYPE_DIRECTORY) {
        subdirs[find(dir)]++;
      }
    }
    for (int i = 0; i < live; i++) {
      long n = Integer.toUnsignedLong(nums[i]);
      if (i != root && !named[i]) {
        throw corrupt(tableBlock(n), "inode table", "inode " + n + " is in use but no directory entry names it");
      }
      long want = types[i] == Inode.TYPE_DIRECTORY ? 2L + subdirs[i] : 1;
      if (Integer.toUnsignedLong(links[i]) != want) {
        throw corrupt(tableBlock(n), "inode table", "inode " + n + " has link count "
            + Integer.toUnsignedLong(links[i]) + ", expected " + want);
      }
    }
    if (parents[root] != (int) Inode.ROOT) {
      throw corrupt(tableStart, "inode table", "the root directory's parent is inode "
          + Integer.toUnsignedLong(parents[root]) + ", not itself");
    }
    checkReachable(root);
  }

  /**
   * Every entry above names an inode whose parent is the entry's directory, once: each inode's parent chain is
   * then its path, and a chain that meets itself before the root is a cycle no walk from the root reaches.
   */
  private void checkReachable(int root) throws VdeCorruptedException {
    byte[] state = new byte[live]; // 0 unknown, 1 on the chain being followed, 2 leads to the root
    state[root] = 2;
    int[] chain = new int[16];
    for (int i = 0; i < live; i++) {
      int len = 0;
      int cur = i;
      while (state[cur] == 0) {
        state[cur] = 1;
        if (len == chain.length) {
          chain = Arrays.copyOf(chain, len * 2);
        }
        chain[len++] = cur;
        int up = find(Integer.toUnsignedLong(parents[cur]));
        if (up < 0) {
          long n = Integer.toUnsignedLong(nums[cur]);
          throw corrupt(tableBlock(n), "inode table", "inode " + n + " has parent inode "
              + Integer.toUnsignedLong(parents[cur]) + ", which is free");
        }
        cur = up;
      }
      if (state[cur] == 1) {
        long n = Integer.toUnsignedLong(nums[cur]);
        throw corrupt(tableBlock(n), "directory tree", "directory inode " + n + " is its own ancestor (a directory "
            + "cycle that the root does not reach)");
      }
      for (int k = 0; k < len; k++) {
        state[chain[k]] = 2;
      }
    }
  }

  /** Index of live inode {@code n}, or -1. */
  private int find(long n) {
    int lo = 0;
    int hi = live - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      long v = Integer.toUnsignedLong(nums[mid]);
      if (v < n) {
        lo = mid + 1;
      } else if (v > n) {
        hi = mid - 1;
      } else {
        return mid;
      }
    }
    return -1;
  }

  private long tableBlock(long n) {
    return tableStart + n / perBlock;
  }

  private VdeCorruptedException corrupt(long block, String structure, String what) {
    return new VdeCorruptedException(block, structure, what + SUFFIX, resource);
  }
}
