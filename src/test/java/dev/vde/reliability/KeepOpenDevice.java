package dev.vde.reliability;

import dev.vde.io.BlockDevice;
import dev.vde.io.ForwardingBlockDevice;

/**
 * A view of a device that a closing volume cannot close, so one simulated disk can be closed and opened again
 * within a script (a clean restart), as a host file can.
 */
final class KeepOpenDevice extends ForwardingBlockDevice {
  KeepOpenDevice(BlockDevice dev) {
    super(dev);
  }

  @Override
  public void close() {
    // The underlying device outlives the volume; the test drops it when done.
  }
}
