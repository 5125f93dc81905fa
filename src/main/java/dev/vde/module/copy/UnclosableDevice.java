package dev.vde.module.copy;

import dev.vde.io.BlockDevice;
import dev.vde.io.ForwardingBlockDevice;

/**
 * A view of a caller's device whose {@link #close} does nothing, so the copy can open the destination for
 * verification and close that volume without closing a device it does not own.
 */
final class UnclosableDevice extends ForwardingBlockDevice {
  UnclosableDevice(BlockDevice dev) {
    super(dev);
  }

  @Override
  public void close() {
    // The caller owns the device.
  }
}
