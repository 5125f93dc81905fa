package dev.vde.testing;

import dev.vde.io.BlockDevice;
import dev.vde.io.ForwardingBlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.BitSet;

/**
 * A sparse host file on a file system that fills up: every 4 KiB host page written once keeps its space, and once
 * {@link #fill} is called a write that touches a page never written before fails with "No space left on device"
 * (what the host says), as on a full disk where overwriting allocated blocks still works. {@link #free} gives
 * room again.
 */
public final class FullHostDevice extends ForwardingBlockDevice {
  private static final int PAGE = 4096;
  private final BitSet pages = new BitSet();
  private volatile boolean full;
  private int refusals;

  public FullHostDevice(BlockDevice delegate) {
    super(delegate);
  }

  /** From now on, writes that need a new host page fail. */
  public void fill() {
    full = true;
  }

  /** Room again. */
  public void free() {
    full = false;
  }

  /** Writes refused so far. */
  public synchronized int refusals() {
    return refusals;
  }

  @Override
  public void write(long pos, ByteBuffer src) throws IOException {
    int first = (int) (pos / PAGE);
    int end = (int) ((pos + src.remaining() + PAGE - 1) / PAGE);
    synchronized (this) {
      if (full && pages.nextClearBit(first) < end) {
        refusals++;
        throw new IOException("No space left on device");
      }
      pages.set(first, end);
    }
    super.write(pos, src);
  }

  @Override
  public void truncate(long size) throws IOException {
    synchronized (this) {
      int keep = (int) ((size + PAGE - 1) / PAGE);
      pages.clear(keep, Math.max(keep, pages.length()));
    }
    super.truncate(size);
  }
}
