package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deleteRecursively} lists a directory and then deletes its entries one operation each, so other writers
 * run between them. An entry another thread deleted (or moved away) after the listing made the whole call fail
 * with "no such file or directory" for that entry, the tree left half deleted although what the call asked for,
 * nothing at the path, was in reach. Such an entry is now passed over.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DeleteRecursivelyRaceTest {
  @TempDir
  Path dir;

  @Test
  void entriesDeletedByAnotherThreadAfterTheListing_arePassedOver() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(dir.resolve("v.vde"), CreateOptions.ofSize(8L << 20))) {
      d.mkdirs("/t/sub");
      d.writeFile("/t/a", new byte[] {1});
      d.writeFile("/t/b", new byte[] {2});
      d.writeFile("/t/sub/c", new byte[] {3});
      d.writeFile("/t/z", new byte[] {4});
      // Entries further down the listing, deleted or moved away by this thread.
      deleteOfTAfterItsListing(d, () -> {
        d.delete("/t/b");
        d.deleteRecursively("/t/sub");
        d.rename("/t/z", "/moved");
      }).get(10, TimeUnit.SECONDS);
      assertThat(d.exists("/t")).isFalse();
      assertThat(d.readFile("/moved")).containsExactly(4);
      assertThat(d.verify(dev.vde.Progress.NONE).clean()).isTrue();
    }
  }

  @Test
  void entriesAddedByAnotherThreadAfterTheListing_areLeft_andTheErrorSaysSo() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(dir.resolve("v.vde"), CreateOptions.ofSize(8L << 20))) {
      d.mkdirs("/t/sub");
      d.writeFile("/t/a", new byte[] {1});
      d.writeFile("/t/sub/c", new byte[] {3});
      CompletableFuture<Void> rm = deleteOfTAfterItsListing(d, () -> d.writeFile("/t/new", new byte[] {9}));
      assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> rm.get(10, TimeUnit.SECONDS)))
          .hasCauseInstanceOf(dev.vde.VdeDirectoryNotEmptyException.class)
          .cause().hasMessageContaining("/t: another writer added entries to it while it was being deleted")
          .hasMessageNotContaining("use a recursive delete");
      assertThat(d.readFile("/t/new")).containsExactly(9);
      assertThat(d.exists("/t/a")).isFalse();
      assertThat(d.exists("/t/sub")).isFalse();
      assertThat(d.verify(dev.vde.Progress.NONE).clean()).isTrue();
    }
  }

  /** Work done by the test's thread between other writers' operations. */
  private interface Between {
    void run() throws Exception;
  }

  /**
   * Starts {@code deleteRecursively("/t")} in another thread and, holding the writer lock, lets it list {@code /t}
   * and queue for its first delete; then runs {@code between} and lets it go on.
   */
  private static CompletableFuture<Void> deleteOfTAfterItsListing(VirtualDisk d, Between between) throws Exception {
    ReentrantLock writers = d.volume().writerLock();
    writers.lock();
    try {
      CompletableFuture<Void> rm = CompletableFuture.runAsync(() -> {
        try {
          d.deleteRecursively("/t");
        } catch (Exception e) {
          throw new java.util.concurrent.CompletionException(e);
        }
      });
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!writers.hasQueuedThreads()) {
        assertThat(System.nanoTime()).as("the recursive delete queued for the writer lock").isLessThan(deadline);
        Thread.sleep(1);
      }
      between.run();
      return rm;
    } finally {
      writers.unlock();
    }
  }
}
