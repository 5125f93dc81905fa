package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.vde.format.MigrationCheckpoint.Phase;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.fs.WriterLockProbe;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationResult;
import dev.vde.testing.PowerLossDevice;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Lowering the IOPS limit while a full-size batch is being copied charges that whole batch at the new rate, and
 * cancel() was not looked at while the throttle waited: a migration asked to stop kept the caller waiting for
 * (batch I/Os / new rate) seconds, over eight minutes here, far beyond the CLI's 60 s Ctrl-C grace. A cancel or
 * pause now ends the wait.
 */
class CancelWhileThrottledTest {
  @Test
  void cancelAfterLoweringTheLimit_returnsPromptly() throws Exception {
    VirtualDisk disk = VirtualDisk.create(new PowerLossDevice("throttle"),
        CreateOptions.ofSize(4L << 20).blockSize(512).inodeCount(1024));
    disk.batch(x -> {
      for (int i = 0; i < 700; i++) {
        x.writeFile("/f" + i, new byte[0]);
      }
    });
    MigrationControl control = new MigrationControl(0, false);
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch holding = new CountDownLatch(1);
    boolean[] once = {false};
    MigrationOptions opts = MigrationOptions.defaults().checkpointEvery(100_000).control(control).listener(p -> {
      if (p.phase() != Phase.COPYING_INODES || once[0]) {
        return;
      }
      once[0] = true;
      // Hold the writer lock, so the migration's next (256-block) batch waits for it...
      new Thread(() -> {
        try {
          disk.volume().withWriterLock(() -> {
            holding.countDown();
            try {
              release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            return null;
          });
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      }).start();
      try {
        holding.await();
      } catch (InterruptedException e) {
        throw new RuntimeException(e);
      }
      // ...and once it waits, the user lowers the limit to 1 IOPS and cancels.
      new Thread(() -> {
        while (!WriterLockProbe.someoneWaits(disk)) {
          Thread.onSpinWait();
        }
        control.setMaxIops(1);
        control.cancel();
        release.countDown();
      }).start();
    });
    MigrationResult r = assertTimeoutPreemptively(Duration.ofSeconds(20),
        () -> InodeMigration.start(disk, List.of(Module.TAGS), opts),
        "cancel() was not honoured within 20 s");
    assertThat(r.cancelled()).isTrue();
  }
}
