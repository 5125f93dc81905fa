package dev.vde.inode;

import dev.vde.format.InodeLayout;
import java.util.Arrays;

/**
 * Rewrites inode records from one layout to another: the core is copied as is, every module field present in
 * both layouts moves to its new offset, fields new to the target layout and all padding are zero. Used by the
 * inode migration and by the extent-aware copy; it touches only bytes, never the extents, so callers that
 * relocate blocks patch the core afterwards.
 */
public final class InodeConverter {
  private final InodeLayout from;
  private final InodeLayout to;
  /** Pairs of (source offset, target offset, size) for the fields both layouts have. */
  private final int[] moves;

  public InodeConverter(InodeLayout from, InodeLayout to) {
    this.from = from;
    this.to = to;
    int n = 0;
    int[] m = new int[from.fields().size() * 3];
    for (InodeLayout.Field f : from.fields()) {
      InodeLayout.Field g = to.fieldFor(f.moduleId());
      if (g == null) {
        continue;
      }
      if (g.size() != f.size()) {
        throw new IllegalArgumentException("module " + f.moduleId() + " field changes size");
      }
      m[n++] = f.offset();
      m[n++] = g.offset();
      m[n++] = f.size();
    }
    this.moves = Arrays.copyOf(m, n);
  }

  public InodeLayout from() {
    return from;
  }

  public InodeLayout to() {
    return to;
  }

  /**
   * Converts the record at {@code src[srcOff..]} (in the source layout) into {@code dst[dstOff..]} (target
   * layout). A free record (type byte 0) converts to all zeros.
   */
  public void convert(byte[] src, int srcOff, byte[] dst, int dstOff) {
    Arrays.fill(dst, dstOff, dstOff + to.inodeSize(), (byte) 0);
    if (src[srcOff + 4] == 0) {
      return;
    }
    System.arraycopy(src, srcOff, dst, dstOff, InodeLayout.CORE_SIZE);
    for (int i = 0; i < moves.length; i += 3) {
      System.arraycopy(src, srcOff + moves[i], dst, dstOff + moves[i + 1], moves[i + 2]);
    }
  }
}
