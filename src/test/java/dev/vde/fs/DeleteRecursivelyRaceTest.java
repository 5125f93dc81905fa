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
      ReentrantLock writers = d.volume().writerLock();
      CompletableFuture<Void> rm;
      // Holding the writer lock, this thread lets the recursive delete list /t and queue for its first delete,
      // then deletes entries further down the listing itself.
      writers.lock();
      try {
        rm = CompletableFuture.runAsync(() -> {
          try {
            d.deleteRecursively("/t");
          } catch (Exception e) {
            throw new RuntimeException(e);
          }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!writers.hasQueuedThreads()) {
          assertThat(System.nanoTime()).as("the recursive delete queued for the writer lock").isLessThan(deadline);
          Thread.sleep(1);
        }
        d.delete("/t/b");
        d.deleteRecursively("/t/sub");
        d.rename("/t/z", "/moved");
      } finally {
        writers.unlock();
      }
      rm.get(10, TimeUnit.SECONDS);
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
      ReentrantLock writers = d.volume().writerLock();
      CompletableFuture<Void> rm;
      writers.lock();
      try {
        rm = CompletableFuture.runAsync(() -> {
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
        d.writeFile("/t/new", new byte[] {9});
      } finally {
        writers.unlock();
      }
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
}
