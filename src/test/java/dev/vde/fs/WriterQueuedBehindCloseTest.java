package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A writer that was already waiting for the writer lock when close() took it used to go on against the closed
 * journal and device and report their error. It now reports that the volume is closed, as a writer that arrives
 * after close() does, and the volume reopens with what close() left.
 */
class WriterQueuedBehindCloseTest {
  @TempDir
  Path tmp;

  @Test
  void aWriterQueuedBehindCloseIsToldTheVolumeIsClosed() throws Exception {
    Path image = tmp.resolve("v.vde");
    VirtualDisk disk = VirtualDisk.create(image, CreateOptions.ofSize(4 << 20));
    disk.writeFile("/kept", new byte[] {1, 2, 3});
    ReentrantLock writers = disk.volume().writerLock();

    CompletableFuture<Void> closing;
    CompletableFuture<Void> writing;
    // While this thread holds the lock, close() queues for it first and then a writer that has passed the open
    // check; the lock hands itself on in that order.
    writers.lock();
    try {
      closing = CompletableFuture.runAsync(() -> call(disk::close));
      awaitQueued(writers, 1);
      writing = CompletableFuture.runAsync(() -> call(() -> disk.writeFile("/late", new byte[] {9})));
      awaitQueued(writers, 2);
    } finally {
      writers.unlock();
    }

    closing.get(10, TimeUnit.SECONDS);
    assertThatThrownBy(() -> writing.get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause().cause()
        .isInstanceOf(VdeException.class)
        .hasMessageContaining("volume is closed");
    try (VirtualDisk reopened = VirtualDisk.open(image)) {
      assertThat(reopened.exists("/late")).isFalse();
      assertThat(reopened.readFile("/kept")).containsExactly(1, 2, 3);
    }
  }

  private interface IoCall {
    void run() throws Exception;
  }

  private static void call(IoCall c) {
    try {
      c.run();
    } catch (Exception e) {
      throw new RuntimeException(e);
    }
  }

  private static void awaitQueued(ReentrantLock lock, int threads) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (lock.getQueueLength() < threads) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("threads did not queue for the writer lock");
      }
      Thread.sleep(1);
    }
  }
}
