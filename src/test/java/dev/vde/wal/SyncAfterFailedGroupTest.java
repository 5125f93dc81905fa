package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.fs.VirtualDisk;
import dev.vde.io.ForwardingBlockDevice;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.AbstractQueuedSynchronizer;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A failed WAL sync may have dropped pages written outside the WAL (a migration's new table and records, a large
 * write's data), and the host reports that to one sync only. A sync outside the WAL (a migration's checkpoint sync
 * on its own thread, a large write's data sync) that was waiting for the WAL lock while a group's sync failed must
 * therefore fail too: it used to get the lock after the group leader let it go and before the leader recorded the
 * failure, find the journal running, sync successfully (the error already reported) and let the migration write a
 * record counting blocks the failed sync may have lost.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SyncAfterFailedGroupTest {
  private static final int BS = 512;

  /** Fails the next sync of {@link #failOf}, running {@link #beforeFailure} first. */
  static final class FailOnce extends ForwardingBlockDevice {
    volatile Thread failOf;
    volatile Runnable beforeFailure = () -> {};

    FailOnce(PowerLossDevice d) {
      super(d);
    }

    @Override
    public void sync() throws IOException {
      if (Thread.currentThread() == failOf) {
        failOf = null;
        beforeFailure.run();
        throw new IOException("injected: writeback failed");
      }
      super.sync();
    }
  }

  private static boolean parkedOnLock(Thread t) {
    return t.getState() == Thread.State.WAITING && LockSupport.getBlocker(t) instanceof AbstractQueuedSynchronizer;
  }

  private static void await(java.util.function.BooleanSupplier c, long millis) {
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    while (!c.getAsBoolean() && System.nanoTime() < end) {
      LockSupport.parkNanos(1_000_000);
    }
  }

  @Test
  void aSyncOutsideTheWalQueuedBehindAGroupWhoseSyncFails_failsToo() throws Exception {
    for (int trial = 0; trial < 10; trial++) {
      PowerLossDevice plain = new PowerLossDevice("sync-after-failed-group-" + trial);
      FailOnce dev = new FailOnce(plain);
      VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(BS));
      d.setCommitWindow(Duration.ofHours(1));
      d.writeFile("/a", new byte[] {1, 2, 3});
      Journal j = d.volume().journal();
      Field f = Journal.class.getDeclaredField("monitor");
      f.setAccessible(true);
      Object monitor = f.get(j);
      Thread leader = Thread.currentThread();

      AtomicReference<Throwable> outside = new AtomicReference<>();
      Thread[] syncer = new Thread[1];
      Thread[] holder = new Thread[1];
      CountDownLatch held = new CountDownLatch(1);
      // While the group's sync runs (the WAL lock held), another thread asks for a sync outside the WAL and waits
      // for the lock; and the journal's monitor is held, so that the two meet there once the sync has failed.
      dev.beforeFailure = () -> {
        syncer[0] = new Thread(() -> {
          try {
            j.syncOutsideWal();
          } catch (Throwable e) {
            outside.set(e);
          }
        }, "sync outside the WAL");
        syncer[0].start();
        await(() -> parkedOnLock(syncer[0]), 10_000);
        holder[0] = new Thread(() -> {
          synchronized (monitor) {
            held.countDown();
            await(() -> leader.getState() == Thread.State.BLOCKED, 10_000);
            await(() -> syncer[0].getState() == Thread.State.BLOCKED, 300);
          }
        }, "monitor holder");
        holder[0].start();
        try {
          held.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          throw new AssertionError(e);
        }
      };
      dev.failOf = leader;
      Throwable groupFailure = null;
      try {
        d.sync();
      } catch (IOException e) {
        groupFailure = e;
      }
      syncer[0].join(10_000);
      holder[0].join(10_000);
      assertThat(groupFailure).as("the group's sync failed").isNotNull();
      assertThat(outside.get()).as("trial %d: the sync outside the WAL after the failed group sync", trial)
          .isInstanceOf(IOException.class);
      assertThat(j.isFailed()).isTrue();
    }
  }
}
