package dev.vde.module.migration;

import dev.vde.format.MigrationCheckpoint;
import dev.vde.io.BlockDevice;
import dev.vde.io.ForwardingBlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;

/** Passes every call to another device, calling a hook before each write (not under the delegate's monitor). */
final class HookDevice extends ForwardingBlockDevice {
  interface Hook {
    void beforeWrite(long pos, byte[] data) throws IOException;
  }

  volatile Hook hook = (p, b) -> {};

  HookDevice(BlockDevice d) {
    super(d);
  }

  @Override
  public void write(long pos, ByteBuffer src) throws IOException {
    byte[] b = new byte[src.remaining()];
    src.duplicate().get(b);
    hook.beforeWrite(pos, b);
    delegate.write(pos, src);
  }

  /**
   * The migration record that {@code data}, a one-block write at {@code pos}, puts into checkpoint slot
   * {@code chk} or {@code chk + 1}; null for any other write.
   */
  static MigrationCheckpoint recordWritten(long pos, byte[] data, int blockSize, long chk) {
    long block = pos / blockSize;
    if (data.length != blockSize || (block != chk && block != chk + 1)) {
      return null;
    }
    try {
      return MigrationCheckpoint.read(data, block, "hook");
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
