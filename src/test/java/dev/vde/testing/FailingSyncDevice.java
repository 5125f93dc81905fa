package dev.vde.testing;

import dev.vde.io.BlockDevice;
import dev.vde.io.ForwardingBlockDevice;
import java.io.IOException;

/**
 * A device whose every sync fails with an I/O error once {@link #fail} is set: the WAL sync of whichever group
 * commit, flush or checkpoint comes next fails, as a failing disk would make it. {@link #failNext} fails only the
 * next sync, as a transient error would.
 */
public final class FailingSyncDevice extends ForwardingBlockDevice {
  /** Set to make every later sync fail. */
  public volatile boolean fail;
  /** Set to make the next sync, and only that one, fail. */
  public volatile boolean failNext;

  public FailingSyncDevice(BlockDevice d) {
    super(d);
  }

  @Override
  public void sync() throws IOException {
    if (fail) {
      throw new IOException("injected: sync failed");
    }
    if (failNext) {
      failNext = false;
      throw new IOException("injected: sync failed");
    }
    super.sync();
  }
}
