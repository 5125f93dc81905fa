package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.vde.Progress;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.MigrationCheckpoint.Phase;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.testing.PowerLossDevice;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * rollback() used to check "has the swap committed (INOO exists)?" before it took the writer lock. A rollback that
 * passed the check while the migrating thread held the lock for the swap then ran after the swap: it "succeeded"
 * on a migrated volume, clearing the pending bit while INOO was still listed, a state no open accepts. It now
 * decides under the lock.
 */
class RollbackDuringSwapTest {
  @Test
  void aRollbackThatWaitedBehindTheSwapIsRefusedAndTheVolumeStaysMigrated() {
    assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
      PowerLossDevice pld = new PowerLossDevice("swap-race");
      HookDevice dev = new HookDevice(pld);
      VirtualDisk disk = VirtualDisk.create(dev, CreateOptions.ofSize(4L << 20).blockSize(4096).inodeCount(512));
      for (int i = 0; i < 50; i++) {
        disk.writeFile("/f" + i, new byte[] {(byte) i});
      }
      long originalManifest = disk.volume().superblock().moduleManifest();
      int originalInodeSize = disk.volume().superblock().inodeSize();
      long chk = disk.volume().regions().find(RegionDirectory.TAG_CHECKPOINT).start();
      int bs = 4096;

      AtomicReference<Throwable> rollbackOutcome = new AtomicReference<>();
      CountDownLatch rollbackDone = new CountDownLatch(1);
      Thread[] r = new Thread[1];
      Thread migrating = Thread.currentThread();
      dev.hook = (pos, data) -> {
        long block = pos / bs;
        if (r[0] != null) {
          if (Thread.currentThread() == migrating && rollbackDone.getCount() > 0 && (block == chk || block == chk + 1)
              && data.length == bs && disk.volume().regions().find(RegionDirectory.TAG_INODES_OLD) != null) {
            // The migration's step 4 starts with its COMPLETE record, outside the writer lock: let the rollback,
            // queued on the lock since the swap, go first (otherwise the order is up to the scheduler).
            try {
              rollbackDone.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              throw new RuntimeException(e);
            }
          }
          return;
        }
        if (Thread.currentThread() != migrating) {
          return;
        }
        MigrationCheckpoint c = HookDevice.recordWritten(pos, data, bs, chk);
        if (c != null && c.phase() == Phase.SWAPPING_REGIONS) {
          // The migrating thread holds the writer lock for the swap; the user asks for a rollback now.
          r[0] = new Thread(() -> {
            try {
              InodeMigration.rollback(disk);
              rollbackOutcome.set(null);
            } catch (Throwable t) {
              rollbackOutcome.set(t);
            } finally {
              rollbackDone.countDown();
            }
          });
          r[0].start();
          long until = System.nanoTime() + 5_000_000_000L;
          while (!disk.volume().writersWaiting() && rollbackDone.getCount() > 0 && System.nanoTime() < until) {
            Thread.onSpinWait();
          }
        }
      };

      MigrationOptions opts = MigrationOptions.defaults().control(new MigrationControl(0, false));
      InodeMigration.start(disk, List.of(Module.TAGS), opts);
      r[0].join();

      // The rollback waited for the writer lock behind the swap; it must see the swap and refuse. (It used to run
      // anyway: it reported success on a migrated volume and left INOO without the pending bit, which no open
      // accepts.)
      assertThat(rollbackOutcome.get()).isInstanceOf(VdeInvalidArgumentException.class)
          .hasMessageContaining("already completed");
      assertThat(disk.volume().superblock().moduleManifest()).isEqualTo(originalManifest | Module.TAGS.bit());
      assertThat(disk.volume().superblock().inodeSize()).isGreaterThan(originalInodeSize);
      disk.close();
      try (VirtualDisk reopened = VirtualDisk.open(PowerLossDevice.fromImage(pld.durableSnapshot()),
          OpenOptions.defaults())) {
        assertThat(reopened.readFile("/f7")).containsExactly(7);
        assertThat(reopened.verify(Progress.NONE).problems()).isEmpty();
      }
    });
  }

}
