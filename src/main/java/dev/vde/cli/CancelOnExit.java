package dev.vde.cli;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Turns Ctrl-C (JVM shutdown) into a cancellation the copy sees at its next transfer, and holds the exit until
 * the copy has removed DEST, for at most {@link #CLEANUP_WAIT_SECONDS}.
 */
final class CancelOnExit implements AutoCloseable {
  /** How long Ctrl-C waits for the copy to remove what it wrote. */
  private static final long CLEANUP_WAIT_SECONDS = 10;

  private final AtomicBoolean requested = new AtomicBoolean();
  private final CountDownLatch finished = new CountDownLatch(1);
  private final Thread hook = new Thread(this::cancelAndWait, "vde-copy-cancel");

  CancelOnExit() {
    Runtime.getRuntime().addShutdownHook(hook);
  }

  boolean requested() {
    return requested.get();
  }

  private void cancelAndWait() {
    requested.set(true);
    try {
      finished.await(CLEANUP_WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    finished.countDown();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // The JVM is exiting and runs the hook anyway; the copy has finished, so it returns at once.
    }
  }
}
