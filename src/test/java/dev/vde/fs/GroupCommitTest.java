package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.io.BlockDevice;
import dev.vde.io.FileBlockDevice;
import dev.vde.io.ForwardingBlockDevice;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Group commit under concurrency: threads that each wait for their own commit share syncs, and a thread alone
 * is not held back waiting for company. The device's sync is slowed to 2 ms so that grouping, not the host's
 * speed, decides the number of syncs.
 */
class GroupCommitTest {
  private static final int PER_THREAD = 40;

  @TempDir
  Path tmp;

  /** A file device whose sync takes at least 2 ms and is counted. */
  private static final class SlowSync extends ForwardingBlockDevice {
    final AtomicInteger syncs = new AtomicInteger();

    SlowSync(BlockDevice d) {
      super(d);
    }

    @Override
    public void sync() throws IOException {
      syncs.incrementAndGet();
      try {
        TimeUnit.MILLISECONDS.sleep(2);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException();
      }
      super.sync();
    }
  }

  /** What a group's leader reported (see {@link dev.vde.wal.Journal.GroupListener}). */
  private record Group(int transactions, int expected, boolean cutShort, long waitedNanos) {}

  @Test
  void fourWaitingThreadsShareSyncs() throws Exception {
    SlowSync dev = new SlowSync(FileBlockDevice.create(tmp.resolve("g.vde")));
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(64L << 20))) {
      for (int th = 0; th < 4; th++) {
        d.mkdir("/t" + th);
      }
      List<Group> formed = java.util.Collections.synchronizedList(new ArrayList<>());
      d.volume().journal().setGroupListener((n, expected, cutShort, waited) ->
          formed.add(new Group(n, expected, cutShort, waited)));
      long groups0 = d.volume().journal().groupsWritten();
      ExecutorService ex = Executors.newFixedThreadPool(4);
      try {
        List<Future<?>> fs = new ArrayList<>();
        for (int th = 0; th < 4; th++) {
          int t = th;
          fs.add(ex.submit(() -> {
            for (int i = 0; i < PER_THREAD; i++) {
              byte[] b = new byte[100 + i];
              Arrays.fill(b, (byte) (t * 50 + i));
              d.writeFile("/t" + t + "/f" + i, b);
            }
            return null;
          }));
        }
        for (Future<?> f : fs) {
          f.get();
        }
      } finally {
        ex.shutdownNow();
      }
      d.volume().journal().setGroupListener(null);
      long groups = d.volume().journal().groupsWritten() - groups0;
      assertThat(d.volume().journal().groupWaits()).as("leaders paused for the others").isPositive();
      int files = 4 * PER_THREAD;
      List<Group> all = List.copyOf(formed);
      assertThat(all).as("every group reported").hasSize((int) groups);
      assertThat(all.stream().mapToInt(Group::transactions).sum()).as("files in the groups").isEqualTo(files);
      // Every thread commits again about once per group, so a leader that waits for the threads just woken by the
      // previous group writes all four; without that wait groups held about 2. How long a woken thread takes to
      // commit again is up to the host's scheduler, so the leader waits for it only so long: a group smaller than
      // the active committers is right when its wait ran out, and wrong otherwise.
      for (Group g : all) {
        if (g.cutShort()) {
          assertThat(g.waitedNanos()).as("a leader that gave up on its group first waited the shortest wait, %s", g)
              .isGreaterThanOrEqualTo(200_000);
        } else {
          assertThat(g.transactions()).as("a group whose leader did not give up holds every active committer's, %s",
              g).isGreaterThanOrEqualTo(g.expected());
        }
      }
      // And those are all four writers: each of them commits at least once per group it waits for.
      assertThat(all).as("groups formed while all four writers counted as active committers, of %s", all)
          .anyMatch(g -> g.expected() >= 4);
      for (int t = 0; t < 4; t++) {
        for (int i = 0; i < PER_THREAD; i++) {
          byte[] b = new byte[100 + i];
          Arrays.fill(b, (byte) (t * 50 + i));
          assertThat(d.readFile("/t" + t + "/f" + i)).isEqualTo(b);
        }
      }
    }
    try (VirtualDisk d = VirtualDisk.open(tmp.resolve("g.vde"))) {
      TestVolumes.assertClean(d.verify(Progress.NONE), "after concurrent writers");
      assertThat(d.list("/t3")).hasSize(PER_THREAD);
    }
  }

  @Test
  void aThreadAloneCommitsOncePerWriteWithoutWaitingForOthers() throws Exception {
    SlowSync dev = new SlowSync(FileBlockDevice.create(tmp.resolve("s.vde")));
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(16L << 20))) {
      long groups0 = d.volume().journal().groupsWritten();
      long waits0 = d.volume().journal().groupWaits();
      for (int i = 0; i < 50; i++) {
        d.writeFile("/f" + i, new byte[] {(byte) i});
      }
      assertThat(d.volume().journal().groupsWritten() - groups0).isEqualTo(50);
      assertThat(d.volume().journal().groupWaits() - waits0).as("pauses waiting for other committers").isZero();
    }
  }

  /** A file device whose next sync, once armed, waits until the test lets it go. */
  private static final class GatedSync extends ForwardingBlockDevice {
    final java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
    final java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    volatile boolean armed;

    GatedSync(BlockDevice d) {
      super(d);
    }

    @Override
    public void sync() throws IOException {
      if (armed) {
        armed = false;
        entered.countDown();
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      super.sync();
    }
  }

  @Test
  void aCommittedWriteReturnsNormallyWhenItsThreadIsInterruptedWhileWaiting() throws Exception {
    Path p = tmp.resolve("i.vde");
    GatedSync dev = new GatedSync(FileBlockDevice.create(p));
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(16L << 20))) {
      dev.armed = true;
      ExecutorService ex = Executors.newFixedThreadPool(2);
      try {
        // The first writer leads a group and is held in its sync.
        Future<?> leader = ex.submit(() -> {
          d.writeFile("/first", new byte[] {1});
          return null;
        });
        assertThat(dev.entered.await(10, TimeUnit.SECONDS)).isTrue();
        // The second commits and then has to wait for that sync, interrupted all along.
        Future<Boolean> second = ex.submit(() -> {
          Thread.currentThread().interrupt();
          d.writeFile("/second", new byte[] {2});
          return Thread.currentThread().isInterrupted();
        });
        // The second transaction is published (visible) before it is durable; wait for that, then let go.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!d.exists("/second") && System.nanoTime() < deadline) {
          Thread.sleep(1);
        }
        assertThat(d.exists("/second")).as("second write committed while the sync is held").isTrue();
        dev.release.countDown();
        leader.get(10, TimeUnit.SECONDS);
        assertThat(second.get(10, TimeUnit.SECONDS)).as("returned normally, interrupt status kept").isTrue();
      } finally {
        dev.release.countDown();
        ex.shutdownNow();
      }
    }
    try (VirtualDisk d = VirtualDisk.open(p)) {
      assertThat(d.readFile("/first")).containsExactly(1);
      assertThat(d.readFile("/second")).containsExactly(2);
    }
  }
}
