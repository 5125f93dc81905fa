package dev.vde.testing;

import dev.vde.format.Superblock;
import dev.vde.io.BlockDevice;
import dev.vde.io.ForwardingBlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A device that throws an {@link OutOfMemoryError} at the first write into the WAL region once armed, as encoding
 * or writing a large group can: for tests of what an {@code Error}, not an I/O error, in a group commit does.
 */
public final class ErrorOnWalWriteDevice extends ForwardingBlockDevice {
  private volatile long walStart = -1;
  private volatile long walEnd;

  public ErrorOnWalWriteDevice(BlockDevice d) {
    super(d);
  }

  /** Arms the device for the WAL region that {@code sb} describes. */
  public void arm(Superblock sb) {
    walEnd = (sb.walStart() + sb.walBlocks()) * sb.blockSize();
    walStart = sb.walStart() * sb.blockSize();
  }

  @Override
  public void write(long pos, ByteBuffer src) throws IOException {
    long start = walStart;
    if (start >= 0 && pos >= start && pos < walEnd) {
      walStart = -1;
      throw new OutOfMemoryError("injected: heap exhausted while writing the WAL");
    }
    super.write(pos, src);
  }
}
