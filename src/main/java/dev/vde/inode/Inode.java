package dev.vde.inode;

import java.util.List;

/**
 * One inode, decoded: the core fields, the file's full extent list (inline and indirect), and the raw bytes
 * after the core (module fields and padding, {@code inodeSize - 304} bytes), which are carried unchanged through
 * every rewrite so that fields of modules this code does not interpret survive.
 *
 * <p>Core layout (304 bytes, little-endian): 0 u32 number, 4 u8 type, 5 u8 flags, 6 u16 permissions,
 * 8 u32 linkCount, 12 u32 extentCount, 16 u64 size, 24 u64 created, 32 u64 modified, 40 u64 accessed,
 * 48 u64 changed (milliseconds since the epoch), 56 u64 indirectBlock, 64 u32 generation, 68 u32 parent,
 * 72 u64 reserved, 80 eight inline extents of 24 bytes, 272..303 reserved. All reserved bytes are zero.
 */
public record Inode(
    long number,
    int type,
    int flags,
    int permissions,
    long linkCount,
    long size,
    long created,
    long modified,
    long accessed,
    long changed,
    long indirectBlock,
    long generation,
    long parent,
    List<Extent> extents,
    byte[] moduleArea) {

  public static final int TYPE_FREE = 0;
  public static final int TYPE_FILE = 1;
  public static final int TYPE_DIRECTORY = 2;
  public static final int INLINE_EXTENTS = 8;
  public static final long ROOT = 1;
  /**
   * Largest file size, 2^62 bytes: far beyond any volume (at most 2^48 blocks), and small enough that a position
   * plus a length, or a size rounded up to whole blocks, never overflows a long.
   */
  public static final long MAX_FILE_SIZE = 1L << 62;

  public Inode {
    // Lists from ExtentMap are already immutable: a rewrite of a fragmented file's inode copies its list once.
    extents = ExtentList.copyOf(extents);
  }

  public boolean isFree() {
    return type == TYPE_FREE;
  }

  public boolean isDirectory() {
    return type == TYPE_DIRECTORY;
  }

  public boolean isFile() {
    return type == TYPE_FILE;
  }

  /** Physical blocks mapped by the extents. */
  public long mappedBlocks() {
    long n = 0;
    for (Extent e : extents) {
      n += e.count();
    }
    return n;
  }

  public Inode withExtents(List<Extent> newExtents, long newSize, long newIndirect, long now) {
    return new Inode(number, type, flags, permissions, linkCount, newSize, created, now, accessed, now,
        newIndirect, generation, parent, newExtents, moduleArea);
  }

  public Inode withLinks(long newLinkCount, long now) {
    return new Inode(number, type, flags, permissions, newLinkCount, size, created, modified, accessed, now,
        indirectBlock, generation, parent, extents, moduleArea);
  }

  public Inode withParent(long newParent, long now) {
    return new Inode(number, type, flags, permissions, linkCount, size, created, modified, accessed, now,
        indirectBlock, generation, newParent, extents, moduleArea);
  }

  public Inode withModified(long now) {
    return new Inode(number, type, flags, permissions, linkCount, size, created, now, accessed, now,
        indirectBlock, generation, parent, extents, moduleArea);
  }

  public Inode withModuleArea(byte[] area, long now) {
    return new Inode(number, type, flags, permissions, linkCount, size, created, modified, accessed, now,
        indirectBlock, generation, parent, extents, area);
  }
}
