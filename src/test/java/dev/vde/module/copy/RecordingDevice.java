package dev.vde.module.copy;

import dev.vde.io.BlockDevice;
import dev.vde.io.ForwardingBlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.BitSet;

/** Passes everything to a device and records which blocks were written, and how many bytes in all. */
class RecordingDevice extends ForwardingBlockDevice {
  private final int blockSize;
  private final BitSet written = new BitSet();
  private long bytes;

  RecordingDevice(BlockDevice dev, int blockSize) {
    super(dev);
    this.blockSize = blockSize;
  }

  BitSet writtenBlocks() {
    return (BitSet) written.clone();
  }

  long bytesWritten() {
    return bytes;
  }

  /** Forgets what was written so far: what is recorded from now on is what the rest of a copy writes. */
  void reset() {
    written.clear();
    bytes = 0;
  }

  @Override
  public void write(long pos, ByteBuffer src) throws IOException {
    int n = src.remaining();
    if (pos % blockSize != 0 || n % blockSize != 0) {
      throw new AssertionError("write of " + n + " bytes at " + pos + " is not whole blocks");
    }
    written.set((int) (pos / blockSize), (int) ((pos + n) / blockSize));
    bytes += n;
    delegate.write(pos, src);
  }
}
