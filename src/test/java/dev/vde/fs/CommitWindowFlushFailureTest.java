package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeException;
import dev.vde.testing.FailingSyncDevice;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.TestVolumes;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Under a commit window an operation returns before it is durable, and the background flusher makes it durable
 * later; when that flush fails, nobody is waiting for it. The volume stops (every later write and {@code sync()}
 * report the failure), and {@code close()}, which promises to make everything durable, must not return normally
 * when operations it was handed never reached the disk: it used to, and the caller took the lost operations for
 * durable.
 */
class CommitWindowFlushFailureTest {
  private static void awaitFailure(VirtualDisk d) throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!d.volume().journal().isFailed() && System.nanoTime() < deadline) {
      Thread.sleep(1);
    }
    assertThat(d.volume().journal().isFailed()).as("the background flush failed").isTrue();
  }

  @Test
  void closeAfterAFailedBackgroundFlush_reportsTheLostOperations() throws Exception {
    PowerLossDevice plain = new PowerLossDevice("window-flush-fails");
    FailingSyncDevice dev = new FailingSyncDevice(plain);
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512));
    d.writeFile("/durable", new byte[] {9});
    d.setCommitWindow(Duration.ofMillis(2));
    dev.fail = true;
    // Returns at once: published, handed to the flusher, whose sync then fails.
    d.writeFile("/a", new byte[] {1, 2, 3});
    awaitFailure(d);
    assertThatThrownBy(() -> d.writeFile("/b", new byte[] {4})).isInstanceOf(VdeException.class)
        .hasMessageContaining("reopen it to recover");
    assertThatThrownBy(d::close).isInstanceOf(VdeException.class).hasMessageContaining("not made durable");
    // It did lose /a: the report was true.
    try (VirtualDisk re = TestVolumes.open(plain.powerLoss(KeepPolicy.NONE))) {
      assertThat(re.readFile("/durable")).containsExactly(9);
      assertThat(re.exists("/a")).isFalse();
    }
  }

  @Test
  void closeAfterAFailureThatLostNothingHandedToTheFlusher_returnsNormally() throws Exception {
    PowerLossDevice plain = new PowerLossDevice("window-flush-ok");
    FailingSyncDevice dev = new FailingSyncDevice(plain);
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512));
    d.setCommitWindow(Duration.ofMillis(2));
    d.writeFile("/a", new byte[] {1});
    d.sync();
    // Without a window the failing operation itself reports the failure; close then has nothing more to say.
    d.setCommitWindow(Duration.ZERO);
    dev.fail = true;
    assertThatThrownBy(() -> d.writeFile("/b", new byte[] {2})).isInstanceOf(VdeException.class);
    d.close();
    try (VirtualDisk re = TestVolumes.open(plain.powerLoss(KeepPolicy.NONE))) {
      assertThat(re.readFile("/a")).containsExactly(1);
    }
  }
}
