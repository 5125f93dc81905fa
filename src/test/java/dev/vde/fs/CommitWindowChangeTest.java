package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Changing the commit window while operations wait for the flusher. An operation that returned under a window is
 * durable about that window later whatever the window is changed to afterwards: a longer window set later used to
 * stretch the wait of the operations already waiting to the new window (an hour instead of 50 ms), so a crash in
 * that hour lost them. A shorter window, zero included, takes effect for them at once.
 */
class CommitWindowChangeTest {
  private static boolean durableWithin(VirtualDisk d, long ticket, long millis) throws InterruptedException {
    long deadline = System.nanoTime() + millis * 1_000_000L;
    while (d.volume().journal().durableTicket() < ticket && System.nanoTime() < deadline) {
      Thread.sleep(1);
    }
    return d.volume().journal().durableTicket() >= ticket;
  }

  @Test
  void aLongerWindowSetLater_doesNotStretchTheWaitOfOperationsAlreadyWaiting() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("window-longer");
    try (VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512))) {
      d.setCommitWindow(Duration.ofMillis(50));
      d.writeFile("/early", SeededBytes.bytes(1, 100));
      long early = d.volume().journal().lastTicket();
      d.setCommitWindow(Duration.ofHours(1));
      d.writeFile("/late", SeededBytes.bytes(2, 100));
      assertThat(durableWithin(d, early, 10_000)).as("/early durable about 50 ms after it returned").isTrue();
      try (VirtualDisk kept = TestVolumes.open(dev.powerLoss(KeepPolicy.NONE))) {
        assertThat(kept.readFile("/early")).isEqualTo(SeededBytes.bytes(1, 100));
      }
    }
  }

  @Test
  void aShorterWindowSetLater_appliesToOperationsAlreadyWaiting() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("window-zero");
    try (VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512))) {
      d.setCommitWindow(Duration.ofHours(1));
      d.writeFile("/a", SeededBytes.bytes(1, 100));
      long a = d.volume().journal().lastTicket();
      d.setCommitWindow(Duration.ZERO);
      assertThat(durableWithin(d, a, 10_000)).as("/a durable soon after the window became zero").isTrue();
    }
  }
}
