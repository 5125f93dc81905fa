package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.check.VerifyReport;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sync()} waited for every ticket handed out, a running batch's held transactions included, so it waited
 * for another thread's batch to end. Called where the state lock's read side is held (a {@code Progress} of
 * {@code verify}), that never happened: the batch's next operation waited at publish for that read to end, and
 * the read for the batch. Both threads hung for good, and every writer, new reader and {@code close()} behind
 * them. A running batch's operations are made durable by the batch when it ends; {@code sync()} now covers every
 * operation outside running batches and returns without waiting for one.
 */
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SyncWhileAnotherThreadBatchesTest {
  @TempDir
  Path dir;

  @Test
  void syncFromVerifysProgress_whileAnotherThreadsBatchWaitsToPublish_returns() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(dir.resolve("v.vde"), CreateOptions.ofSize(8L << 20))) {
      d.setCommitWindow(java.time.Duration.ofMinutes(10));
      d.writeFile("/before", new byte[] {7});
      CountDownLatch batchHasCommitted = new CountDownLatch(1);
      CountDownLatch readerHoldsState = new CountDownLatch(1);
      CompletableFuture<Void> batch = CompletableFuture.runAsync(() -> {
        try {
          d.batch(x -> {
            x.writeFile("/a", new byte[] {1});
            batchHasCommitted.countDown();
            await(readerHoldsState);
            // Publishing waits for the read below to end.
            x.writeFile("/b", new byte[] {2});
          });
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      assertThat(batchHasCommitted.await(10, TimeUnit.SECONDS)).isTrue();
      AtomicBoolean synced = new AtomicBoolean();
      Thread reader = new Thread(() -> {
        try {
          VerifyReport r = d.verify((phase, done, total, unit) -> {
            if (readerHoldsState.getCount() == 0) {
              return;
            }
            readerHoldsState.countDown();
            try {
              awaitPublishQueued(d);
              d.sync();
              synced.set(true);
            } catch (Exception e) {
              throw new RuntimeException(e);
            }
          });
          assertThat(r.clean()).isTrue();
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      reader.setDaemon(true);
      reader.start();
      reader.join(10_000);
      assertThat(reader.isAlive()).as("verify has ended (its sync waited for the batch that waits for it)")
          .isFalse();
      assertThat(synced).isTrue();
      batch.get(10, TimeUnit.SECONDS);
      // What sync covered is durable; the batch made its own operations durable when it ended.
      assertThat(d.volume().journal().durableTicket()).isEqualTo(d.volume().journal().lastTicket());
      assertThat(d.readFile("/before")).containsExactly(7);
      assertThat(d.readFile("/b")).containsExactly(2);
    }
  }

  @Test
  void sync_doesNotWaitForAnotherThreadsBatch_butCoversWhatReturnedBeforeIt() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(dir.resolve("v.vde"), CreateOptions.ofSize(8L << 20))) {
      d.setCommitWindow(java.time.Duration.ofMinutes(10));
      d.writeFile("/before", new byte[] {7});
      long before = d.volume().journal().lastTicket();
      CountDownLatch batchHasCommitted = new CountDownLatch(1);
      CountDownLatch synced = new CountDownLatch(1);
      CompletableFuture<Void> batch = CompletableFuture.runAsync(() -> {
        try {
          d.batch(x -> {
            x.writeFile("/a", new byte[] {1});
            batchHasCommitted.countDown();
            // A long batch: it goes on until the other thread's sync has returned.
            await(synced);
          });
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      assertThat(batchHasCommitted.await(10, TimeUnit.SECONDS)).isTrue();
      long t0 = System.nanoTime();
      d.sync();
      long tookMillis = (System.nanoTime() - t0) / 1_000_000;
      synced.countDown();
      assertThat(tookMillis).as("sync waited for another thread's batch").isLessThan(5_000);
      assertThat(d.volume().journal().durableTicket()).isGreaterThanOrEqualTo(before);
      batch.get(10, TimeUnit.SECONDS);
      assertThat(d.volume().journal().durableTicket()).isEqualTo(d.volume().journal().lastTicket());
    }
  }

  @Test
  void sync_stillWaitsForAGroupALeaderHasTakenAndNotYetSynced() throws Exception {
    CountDownLatch syncEntered = new CountDownLatch(1);
    CountDownLatch letSyncGo = new CountDownLatch(1);
    AtomicBoolean holdSyncs = new AtomicBoolean();
    dev.vde.io.BlockDevice dev = new dev.vde.io.ForwardingBlockDevice(
        new dev.vde.testing.PowerLossDevice("held-sync")) {
      @Override
      public void sync() throws java.io.IOException {
        if (holdSyncs.get()) {
          syncEntered.countDown();
          await(letSyncGo);
        }
        super.sync();
      }
    };
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(8L << 20))) {
      d.setCommitWindow(java.time.Duration.ofMinutes(10));
      d.writeFile("/a", new byte[] {1});
      long ticket = d.volume().journal().lastTicket();
      holdSyncs.set(true);
      // This sync leads the group holding /a: the group leaves the queue, and its WAL sync is held.
      CompletableFuture<Void> leader = CompletableFuture.runAsync(() -> {
        try {
          d.sync();
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      assertThat(syncEntered.await(10, TimeUnit.SECONDS)).isTrue();
      CompletableFuture<Void> second = CompletableFuture.runAsync(() -> {
        try {
          d.sync();
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      Thread.sleep(200);
      assertThat(second).as("a sync returned before /a, which had returned, was durable").isNotDone();
      holdSyncs.set(false);
      letSyncGo.countDown();
      leader.get(10, TimeUnit.SECONDS);
      second.get(10, TimeUnit.SECONDS);
      assertThat(d.volume().journal().durableTicket()).isGreaterThanOrEqualTo(ticket);
    }
  }

  private static void await(CountDownLatch l) throws java.io.InterruptedIOException {
    try {
      if (!l.await(10, TimeUnit.SECONDS)) {
        throw new AssertionError("the other thread did not get there");
      }
    } catch (InterruptedException e) {
      throw new java.io.InterruptedIOException();
    }
  }

  /** Waits until a thread queues for the state lock's write side (a publish waiting for a read to end). */
  private static void awaitPublishQueued(VirtualDisk d) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!d.volume().stateLock().hasQueuedThreads()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the batch's publish did not queue for the state lock");
      }
      Thread.sleep(1);
    }
  }
}
