package dev.vde.inode;

import dev.vde.format.Bytes;
import dev.vde.format.InodeLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Encodes and decodes one inode record at an offset inside an inode-table block. Extents past the eighth live
 * in indirect extent blocks ({@link ExtentBlockCodec}); {@link #read} returns only the inline ones and the
 * caller appends the rest.
 */
public final class InodeCodec {
  private InodeCodec() {}

  /** Number of inode records in one inode-table block. */
  public static int perBlock(int blockSize, int inodeSize) {
    return (blockSize - dev.vde.format.BlockCodec.TRAILER_SIZE) / inodeSize;
  }

  /** Writes {@code ino} at {@code off}; padding after the layout's last field is written as zero. */
  public static void write(byte[] b, int off, Inode ino, InodeLayout layout) {
    int inodeSize = layout.inodeSize();
    Arrays.fill(b, off, off + inodeSize, (byte) 0);
    if (ino.isFree()) {
      return;
    }
    Bytes.put32(b, off, (int) ino.number());
    Bytes.put8(b, off + 4, ino.type());
    Bytes.put8(b, off + 5, ino.flags());
    Bytes.put16(b, off + 6, ino.permissions());
    Bytes.put32(b, off + 8, (int) ino.linkCount());
    Bytes.put32(b, off + 12, ino.extents().size());
    Bytes.put64(b, off + 16, ino.size());
    Bytes.put64(b, off + 24, ino.created());
    Bytes.put64(b, off + 32, ino.modified());
    Bytes.put64(b, off + 40, ino.accessed());
    Bytes.put64(b, off + 48, ino.changed());
    Bytes.put64(b, off + 56, ino.indirectBlock());
    Bytes.put32(b, off + 64, (int) ino.generation());
    Bytes.put32(b, off + 68, (int) ino.parent());
    int p = off + 80;
    List<Extent> xs = ino.extents();
    for (int i = 0; i < Math.min(Inode.INLINE_EXTENTS, xs.size()); i++) {
      Extent e = xs.get(i);
      Bytes.put64(b, p, e.logical());
      Bytes.put64(b, p + 8, e.start());
      Bytes.put32(b, p + 16, e.count());
      p += Extent.SIZE;
    }
    byte[] area = ino.moduleArea();
    int used = layout.usedEnd() - InodeLayout.CORE_SIZE;
    if (area != null) {
      System.arraycopy(area, 0, b, off + InodeLayout.CORE_SIZE, Math.min(used, area.length));
    }
  }

  /** Reads the inode at {@code off}; a record whose type byte is 0 decodes as a free inode. */
  public static Inode read(byte[] b, int off, long number, InodeLayout layout) {
    int type = Bytes.u8(b, off + 4);
    byte[] area = Arrays.copyOfRange(b, off + InodeLayout.CORE_SIZE, off + layout.inodeSize());
    if (type == Inode.TYPE_FREE) {
      return free(number, area);
    }
    long extentCount = Bytes.u32(b, off + 12);
    List<Extent> xs = new ArrayList<>();
    int p = off + 80;
    for (int i = 0; i < Math.min(Inode.INLINE_EXTENTS, extentCount); i++) {
      xs.add(new Extent(Bytes.i64(b, p), Bytes.i64(b, p + 8), Bytes.i32(b, p + 16)));
      p += Extent.SIZE;
    }
    return new Inode(Bytes.u32(b, off), type, Bytes.u8(b, off + 5), Bytes.u16(b, off + 6), Bytes.u32(b, off + 8),
        Bytes.i64(b, off + 16), Bytes.i64(b, off + 24), Bytes.i64(b, off + 32), Bytes.i64(b, off + 40),
        Bytes.i64(b, off + 48), Bytes.i64(b, off + 56), Bytes.u32(b, off + 64), Bytes.u32(b, off + 68), xs, area);
  }

  /** The stored extent count (inline plus indirect), read without decoding the rest. */
  public static long storedExtentCount(byte[] b, int off) {
    return Bytes.u32(b, off + 12);
  }

  public static Inode free(long number, byte[] area) {
    return new Inode(number, Inode.TYPE_FREE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, List.of(), area);
  }

  /** True when the reserved core bytes (72..79 and 272..303) are zero. */
  public static boolean reservedCoreZero(byte[] b, int off) {
    return Bytes.isZero(b, off + 72, 8) && Bytes.isZero(b, off + 272, InodeLayout.CORE_SIZE - 272);
  }
}
