package dev.vde.inode;

/**
 * A run of a file's blocks: logical blocks {@code [logical, logical+count)} of the file live in physical blocks
 * {@code [start, start+count)}. On disk: u64 logical, u64 start, u32 count, u32 reserved (zero) = 24 bytes.
 */
public record Extent(long logical, long start, int count) {
  public static final int SIZE = 24;

  public long logicalEnd() {
    return logical + count;
  }

  public long end() {
    return start + count;
  }
}
