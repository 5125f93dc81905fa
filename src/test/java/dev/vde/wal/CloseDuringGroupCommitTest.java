package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.AbstractQueuedSynchronizer;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;

/**
 * A group leader used to take its transactions off the queue and only then wait for the WAL lock. A checkpoint
 * that got the lock in between (a closing thread that won the race, say) neither waited for that group (it was
 * no longer queued) nor wrote it, and close then closed the device under it: the group's write failed, and the
 * operations in it, returned under the commit window, were lost although close returned normally. The leader now
 * takes its group under the WAL lock, and a checkpoint first writes everything queued, so no group is ever
 * between the queue and the WAL while a checkpoint runs.
 */
class CloseDuringGroupCommitTest {
  private static boolean parkedOnLock(Thread t) {
    return t.getState() == Thread.State.WAITING && LockSupport.getBlocker(t) instanceof AbstractQueuedSynchronizer;
  }

  @Test
  void closeWhileALeaderWaitsForTheWalLock_keepsTheLeadersGroup() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("close-during-group");
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512));
    d.setCommitWindow(Duration.ofHours(1));
    byte[] data = SeededBytes.bytes(7, 3000);
    // Returns at once under the window: acknowledged, durable later.
    d.writeFile("/a", data);
    Journal j = d.volume().journal();
    Field f = Journal.class.getDeclaredField("walLock");
    f.setAccessible(true);
    ReentrantLock walLock = (ReentrantLock) f.get(j);

    AtomicReference<Throwable> syncFailure = new AtomicReference<>();
    Thread syncer = new Thread(() -> {
      try {
        d.sync();
      } catch (Throwable e) {
        syncFailure.set(e);
      }
    }, "sync leading the group");
    // The closing thread holds the WAL lock while another thread leads the group that makes /a durable: it stands
    // for a close whose checkpoint takes the lock before the leader does, which a preempted leader allows.
    walLock.lock();
    try {
      syncer.start();
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!parkedOnLock(syncer) && System.nanoTime() < end) {
        LockSupport.parkNanos(1_000_000);
      }
      assertThat(parkedOnLock(syncer)).as("the leader waits for the WAL lock").isTrue();
      d.close();
    } finally {
      walLock.unlock();
    }
    syncer.join(10_000);
    assertThat(syncer.isAlive()).as("the sync returned").isFalse();
    // close() returned normally: everything that returned before it is durable, and the sync it raced with saw /a
    // made durable rather than a device closed under its write.
    try (VirtualDisk kept = TestVolumes.open(dev.powerLoss(KeepPolicy.NONE))) {
      assertThat(kept.exists("/a")).as("/a returned before close, which returned normally").isTrue();
      assertThat(kept.readFile("/a")).isEqualTo(data);
    }
    assertThat(syncFailure.get()).as("the sync that led the group").isNull();
  }
}
