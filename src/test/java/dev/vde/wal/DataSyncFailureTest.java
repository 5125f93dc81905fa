package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.format.Superblock;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.ForwardingBlockDevice;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.AbstractQueuedSynchronizer;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * A host that fails to write pages back drops them and reports the failure to one sync only, whichever write the
 * pages came from. A write of more than 256 data blocks syncs its data before it commits, outside the WAL; when
 * that sync failed, only the write itself failed. Meanwhile a group commit in another thread could have written
 * its WAL blocks, which the failed sync took with it: the group's own sync then succeeded, its operations were
 * acknowledged, and a crash lost them. Syncs outside the WAL now run between groups and checkpoints, and a failed
 * one stops the volume like a failed WAL sync.
 */
class DataSyncFailureTest {
  private static final int BS = 512;
  /** More data blocks than a transaction lists by checksum: it syncs them before it commits. */
  private static final int SYNCED_DATA_BLOCKS = 300;

  /** Injects a writeback failure into one thread's next sync, with hooks to order the threads around it. */
  static final class WritebackFailureDevice extends ForwardingBlockDevice {
    final PowerLossDevice plain;
    volatile long walFrom = -1;
    volatile long walTo;
    /** Runs once, on the writing thread, after the next write into the WAL region. */
    volatile Runnable afterWalWrite;
    /** The next sync this thread calls runs {@link #beforeFailure}, then loses every unsynced write and fails. */
    volatile Thread failSyncOf;
    volatile Runnable beforeFailure = () -> {};
    volatile boolean failed;

    WritebackFailureDevice(PowerLossDevice plain) {
      super(plain);
      this.plain = plain;
    }

    void watchWal(Superblock sb) {
      walTo = (sb.walStart() + sb.walBlocks()) * sb.blockSize();
      walFrom = sb.walStart() * sb.blockSize();
    }

    @Override
    public void write(long pos, ByteBuffer src) throws IOException {
      super.write(pos, src);
      Runnable r = afterWalWrite;
      if (r != null && pos >= walFrom && pos < walTo) {
        afterWalWrite = null;
        r.run();
      }
    }

    @Override
    public void sync() throws IOException {
      if (Thread.currentThread() == failSyncOf) {
        failSyncOf = null;
        beforeFailure.run();
        plain.loseUnsynced();
        failed = true;
        throw new IOException("injected: writeback failed, the unsynced writes are lost");
      }
      super.sync();
    }
  }

  /** Waits until {@code done} or {@code t} is parked on a lock (for 50 ms on end), at most 10 s. */
  private static void awaitParkedOrDone(Thread t, BooleanSupplier done) {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    int parkedFor = 0;
    while (!done.getAsBoolean() && System.nanoTime() < end && parkedFor < 50) {
      boolean parked = t.getState() == Thread.State.WAITING
          && LockSupport.getBlocker(t) instanceof AbstractQueuedSynchronizer;
      parkedFor = parked ? parkedFor + 1 : 0;
      LockSupport.parkNanos(1_000_000);
    }
  }

  private static Thread start(String name, AtomicReference<Throwable> outcome, IoRunnable r) {
    Thread t = new Thread(() -> {
      try {
        r.run();
      } catch (Throwable e) {
        outcome.set(e);
      }
    }, name);
    t.start();
    return t;
  }

  @FunctionalInterface
  interface IoRunnable {
    void run() throws Exception;
  }

  @Test
  void aDataSyncThatFailsWhileAGroupIsBetweenItsWriteAndItsSync_keepsThatGroupFromBeingAcknowledged()
      throws Exception {
    PowerLossDevice plain = new PowerLossDevice("data-sync-failure");
    WritebackFailureDevice dev = new WritebackFailureDevice(plain);
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(BS));
    d.writeFile("/before", new byte[] {9});
    dev.watchWal(d.volume().superblock());

    AtomicReference<Throwable> aOutcome = new AtomicReference<>();
    AtomicReference<Throwable> bOutcome = new AtomicReference<>();
    CountDownLatch bStarted = new CountDownLatch(1);
    Thread[] b = new Thread[1];
    // The group commit of /a has written its WAL blocks and not synced them yet when the large write's data sync
    // comes; the group goes on once that sync has failed, or once it waits for the group.
    dev.afterWalWrite = () -> {
      b[0] = new Thread(() -> {
        try {
          d.writeFile("/big", new byte[SYNCED_DATA_BLOCKS * (BS - 16)]);
        } catch (Throwable e) {
          bOutcome.set(e);
        }
      }, "large writer");
      dev.failSyncOf = b[0];
      b[0].start();
      bStarted.countDown();
      awaitParkedOrDone(b[0], () -> dev.failed);
    };
    Thread a = start("small writer", aOutcome, () -> d.writeFile("/a", new byte[] {1, 2, 3}));
    a.join(20_000);
    assertThat(bStarted.await(20, TimeUnit.SECONDS)).isTrue();
    b[0].join(20_000);
    assertThat(dev.failed).as("the injected failure happened").isTrue();
    assertThat(bOutcome.get()).as("the large write").isInstanceOf(IOException.class);
    PowerLossDevice crashed = plain.powerLoss(KeepPolicy.NONE);
    try (VirtualDisk re = TestVolumes.open(crashed)) {
      assertThat(re.readFile("/before")).containsExactly(9);
      if (aOutcome.get() == null) {
        assertThat(re.exists("/a")).as("/a was acknowledged").isTrue();
        assertThat(re.readFile("/a")).containsExactly(1, 2, 3);
      }
      assertThat(re.exists("/big")).isFalse();
      assertThat(re.verify(Progress.NONE).problems()).isEmpty();
    }
    // Whatever else the failed sync may have cost, nothing is acknowledged after it.
    assertThatThrownBy(() -> d.writeFile("/after", new byte[] {4})).isInstanceOf(IOException.class)
        .hasMessageContaining("reopen it to recover");
  }

  @Test
  void aGroupWaitingBehindADataSyncThatFails_isNotWrittenAfterIt() throws Exception {
    PowerLossDevice plain = new PowerLossDevice("data-sync-failure-2");
    WritebackFailureDevice dev = new WritebackFailureDevice(plain);
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(BS));
    d.setCommitWindow(Duration.ofHours(1));
    // 20 data blocks: written in place and listed by checksum, not synced until its group is.
    byte[] mid = new byte[20 * (BS - 16)];
    java.util.Arrays.fill(mid, (byte) 5);
    d.writeFile("/mid", mid);

    AtomicReference<Throwable> syncOutcome = new AtomicReference<>();
    AtomicReference<Throwable> bOutcome = new AtomicReference<>();
    Thread[] c = new Thread[1];
    // While the large write's data sync runs, another thread makes /mid durable; the sync fails once that thread
    // waits for it (or has finished).
    dev.beforeFailure = () -> {
      c[0] = start("syncer", syncOutcome, d::sync);
      awaitParkedOrDone(c[0], () -> !c[0].isAlive());
    };
    Thread b = new Thread(() -> {
      try {
        d.writeFile("/big", new byte[SYNCED_DATA_BLOCKS * (BS - 16)]);
      } catch (Throwable e) {
        bOutcome.set(e);
      }
    }, "large writer");
    dev.failSyncOf = b;
    b.start();
    b.join(20_000);
    c[0].join(20_000);
    assertThat(dev.failed).isTrue();
    assertThat(bOutcome.get()).isInstanceOf(IOException.class);

    try (VirtualDisk re = TestVolumes.open(plain.powerLoss(KeepPolicy.NONE))) {
      if (syncOutcome.get() == null) {
        assertThat(re.exists("/mid")).as("sync() returned, so /mid is durable").isTrue();
        assertThat(re.readFile("/mid")).isEqualTo(mid);
      }
      assertThat(re.verify(Progress.NONE).problems()).isEmpty();
    }
  }
}
