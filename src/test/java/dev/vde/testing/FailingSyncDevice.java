package dev.vde.testing;

import dev.vde.io.BlockDevice;
import dev.vde.io.ForwardingBlockDevice;
import java.io.IOException;

/**
 * A device whose every sync fails with an I/O error once {@link #fail} is set: the WAL sync of whichever group
 * commit, flush or checkpoint comes next fails, as a failing disk would make it.
 */
public final class FailingSyncDevice extends ForwardingBlockDevice {
  /** Set to make every later sync fail. */
  public volatile boolean fail;

  public FailingSyncDevice(BlockDevice d) {
    super(d);
  }

  @Override
  public void sync() throws IOException {
    if (fail) {
      throw new IOException("injected: sync failed");
    }
    super.sync();
  }
}
