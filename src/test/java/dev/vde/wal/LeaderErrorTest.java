package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.ErrorOnWalWriteDevice;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A group leader that fails with an {@link Error} (an OutOfMemoryError while it encodes or writes the WAL
 * transaction) instead of an IOException: it had taken the queued transactions off the queue, recorded no failure
 * and made nothing durable, so every thread waiting for those transactions, and {@code sync()} and {@code close()}
 * after it, waited forever. The volume must stop as for any failed WAL write, so that the waiters get an
 * exception, and what was acknowledged before survives.
 */
class LeaderErrorTest {
  @Test
  void anErrorInTheCommitThreadStopsTheVolumeInsteadOfLeavingWaitersHanging() throws Exception {
    PowerLossDevice plain = new PowerLossDevice("leader-error");
    ErrorOnWalWriteDevice dev = new ErrorOnWalWriteDevice(plain);
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512));
    d.writeFile("/a", new byte[] {1, 2, 3});
    d.checkpoint();
    // With a commit window the flusher thread leads the group commit and meets the error.
    d.setCommitWindow(Duration.ofMillis(5));
    dev.arm(d.volume().superblock());
    d.writeFile("/b", new byte[] {4, 5, 6});
    ExecutorService pool = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "sync-caller");
      t.setDaemon(true);
      return t;
    });
    try {
      Future<Object> sync = pool.submit(() -> {
        try {
          d.sync();
          return "returned";
        } catch (IOException | OutOfMemoryError e) {
          // The flusher or this thread led the group: the one that met the error has it, the others are told.
          return e;
        }
      });
      Object outcome = sync.get(10, TimeUnit.SECONDS);
      assertThat(outcome).isInstanceOfAny(IOException.class, OutOfMemoryError.class);
      // Stopped, as after a failed WAL write: nothing more is acknowledged.
      Future<Object> after = pool.submit(() -> {
        try {
          d.writeFile("/c", new byte[] {7});
          return "written";
        } catch (IOException e) {
          return e;
        }
      });
      Object later = after.get(10, TimeUnit.SECONDS);
      assertThat(later).isInstanceOf(IOException.class);
      assertThat(((IOException) later).getMessage()).contains("reopen it to recover");
      Future<Object> close = pool.submit(() -> {
        try {
          d.close();
          return "closed";
        } catch (IOException e) {
          return e;
        }
      });
      close.get(10, TimeUnit.SECONDS);
    } finally {
      pool.shutdownNow();
    }
    try (VirtualDisk re = TestVolumes.open(plain.powerLoss(KeepPolicy.NONE))) {
      assertThat(re.readFile("/a")).containsExactly(1, 2, 3);
      assertThat(re.verify(Progress.NONE).problems()).isEmpty();
    }
  }
}
