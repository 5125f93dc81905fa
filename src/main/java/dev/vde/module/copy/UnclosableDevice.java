package dev.vde.module.copy;

import dev.vde.io.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A view of a caller's device whose {@link #close} does nothing, so the copy can open the destination for
 * verification and close that volume without closing a device it does not own.
 */
final class UnclosableDevice implements BlockDevice {
  private final BlockDevice dev;

  UnclosableDevice(BlockDevice dev) {
    this.dev = dev;
  }

  @Override
  public void read(long pos, ByteBuffer dst) throws IOException {
    dev.read(pos, dst);
  }

  @Override
  public void write(long pos, ByteBuffer src) throws IOException {
    dev.write(pos, src);
  }

  @Override
  public void sync() throws IOException {
    dev.sync();
  }

  @Override
  public long size() throws IOException {
    return dev.size();
  }

  @Override
  public void truncate(long size) throws IOException {
    dev.truncate(size);
  }

  @Override
  public String describe() {
    return dev.describe();
  }

  @Override
  public void close() {
    // The caller owns the device.
  }
}
