package dev.vde.fs;

/** Test access to a volume's writer lock, to order two threads deterministically around it. */
public final class WriterLockProbe {
  private WriterLockProbe() {}

  /** True while some thread waits for the writer lock. */
  public static boolean someoneWaits(VirtualDisk d) {
    return d.volume().writerLock().hasQueuedThreads();
  }

  /** True while some thread holds the writer lock. */
  public static boolean held(VirtualDisk d) {
    return d.volume().writerLock().isLocked();
  }
}
