package dev.vde.check;

/**
 * What the inode phase learned about each inode, kept for the later phases so they need not decode every inode
 * again: kind, parent, link count, and whether the tree walk reached it. Nine bytes per inode of the initialized
 * part of the table (a few percent of the table itself), in pages, since inode numbers go up to 2^32.
 */
final class InodeFacts {
  static final int FREE = 0;
  static final int FILE = 1;
  static final int DIRECTORY = 2;
  /** In use, but with a type byte that is neither file nor directory. */
  static final int BAD_TYPE = 3;
  /** Its inode-table block could not be read: nothing is known. */
  static final int UNKNOWN = 4;

  private static final int KIND_MASK = 0x7;
  private static final int REACHED = 0x8;
  private static final int PAGE_BITS = 16;
  private static final int PAGE = 1 << PAGE_BITS;

  private final long capacity;
  private final byte[][] state;
  private final int[][] parents;
  private final int[][] links;

  /** In-use inodes (including those of unknown type), excluding inode 0. */
  long live;
  long directories;
  /** Blocks the data phase will read: in-volume extent blocks of files and directories. */
  long contentBlocks;
  /** Longest in-volume extent, to size the data phase's read buffer. */
  long longestExtent;
  /** True when some inode-table block could not be read. */
  boolean incomplete;

  InodeFacts(long capacity) {
    this.capacity = Math.max(0, capacity);
    int pages = (int) ((this.capacity + PAGE - 1) >>> PAGE_BITS);
    state = new byte[pages][];
    parents = new int[pages][];
    links = new int[pages][];
  }

  /** Inode numbers {@code 0..capacity()-1} have facts; every other inode is free. */
  long capacity() {
    return capacity;
  }

  private int page(long n) {
    int p = (int) (n >>> PAGE_BITS);
    if (state[p] == null) {
      state[p] = new byte[PAGE];
      parents[p] = new int[PAGE];
      links[p] = new int[PAGE];
    }
    return p;
  }

  private static int slot(long n) {
    return (int) (n & (PAGE - 1));
  }

  void set(long n, int kind, long parent, long linkCount) {
    int p = page(n);
    state[p][slot(n)] = (byte) kind;
    parents[p][slot(n)] = (int) parent;
    links[p][slot(n)] = (int) linkCount;
  }

  int kind(long n) {
    if (n < 0 || n >= capacity) {
      return FREE;
    }
    byte[] s = state[(int) (n >>> PAGE_BITS)];
    return s == null ? FREE : s[slot(n)] & KIND_MASK;
  }

  long parent(long n) {
    return Integer.toUnsignedLong(parents[page(n)][slot(n)]);
  }

  long linkCount(long n) {
    return Integer.toUnsignedLong(links[page(n)][slot(n)]);
  }

  boolean reached(long n) {
    return n >= 0 && n < capacity && state[(int) (n >>> PAGE_BITS)] != null
        && (state[(int) (n >>> PAGE_BITS)][slot(n)] & REACHED) != 0;
  }

  /** Marks {@code n} reached; returns false when it already was (or has no facts). */
  boolean markReached(long n) {
    if (n < 0 || n >= capacity || reached(n)) {
      return false;
    }
    int p = page(n);
    state[p][slot(n)] |= REACHED;
    return true;
  }
}
