package dev.vde.io;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The seam between the engine and the host file: positional reads and writes of whole blocks, and a sync
 * barrier. Tests substitute a device that simulates power loss at any write.
 *
 * <p>Contract: a write is durable only after a later {@link #sync()} returns. Writes issued before a sync may
 * reach the medium in any subset and order when power fails before it; a block may even be torn. Reads see
 * every write issued so far, durable or not.
 */
public interface BlockDevice extends Closeable {

  /** Reads {@code dst.remaining()} bytes at byte offset {@code pos}; bytes past the end read as zero. */
  void read(long pos, ByteBuffer dst) throws IOException;

  /**
   * Alignment that lets {@link #readBulk} bypass the host's page cache: a buffer for bulk reads allocated direct and
   * aligned to it ({@link #bulkBuffer}), read at offsets and in lengths that are multiples of it, qualifies where
   * the host file system's block size divides it.
   */
  int BULK_ALIGNMENT = 4096;

  /**
   * As {@link #read}, for a large read of blocks the caller will not read again soon (a copy reading its source).
   * The file device reads such a buffer past the host's page cache where it can: the device delivers it faster,
   * and it evicts nothing the host caches for others. Reads see every write issued so far either way. The default
   * is {@link #read}.
   */
  default void readBulk(long pos, ByteBuffer dst) throws IOException {
    read(pos, dst);
  }

  /** A direct buffer of {@code bytes} aligned for {@link #readBulk}. */
  static ByteBuffer bulkBuffer(int bytes) {
    // alignedSlice cuts both ends to the alignment: room for a whole number of aligned units after the start.
    int units = (int) (((long) bytes + BULK_ALIGNMENT - 1) / BULK_ALIGNMENT);
    return ByteBuffer.allocateDirect((units + 1) * BULK_ALIGNMENT).alignedSlice(BULK_ALIGNMENT).limit(bytes).slice();
  }

  /** Writes all remaining bytes of {@code src} at byte offset {@code pos}, growing the device if needed. */
  void write(long pos, ByteBuffer src) throws IOException;

  /** Makes every write issued so far durable. */
  void sync() throws IOException;

  /** Current size in bytes. */
  long size() throws IOException;

  /** Sets the size in bytes (growing leaves a hole that reads as zero). */
  void truncate(long size) throws IOException;

  /** Human-readable name of the backing resource, used in error messages. */
  String describe();

  /**
   * Copies {@code length} bytes at {@code srcPos} of this device to {@code dstPos} of {@code dst}. The default
   * moves the bytes through a buffer; the file device uses the kernel's transfer where it can.
   */
  default void copyTo(long srcPos, BlockDevice dst, long dstPos, long length, ByteBuffer scratch)
      throws IOException {
    long done = 0;
    while (done < length) {
      int n = (int) Math.min(scratch.capacity(), length - done);
      scratch.clear().limit(n);
      read(srcPos + done, scratch);
      scratch.flip();
      dst.write(dstPos + done, scratch);
      done += n;
    }
  }
}
