package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.vde.VdeException;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.MigrationCheckpoint.Phase;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.fs.WriterLockProbe;
import dev.vde.io.FileBlockDevice;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The migration used to write its checkpoint records outside the writer lock (start's first COPYING record,
 * every durableCheckpoint). A rollback that ran meanwhile zeroed MCHK and cleared the pending bit, and the
 * migrating thread's record then landed after it: the closed volume had no migration, but its MCHK held a
 * live-looking COPYING record, which 'vde migrate status' (InodeMigration.peek) reported as a pending migration;
 * and the migration then died with a raw NullPointerException. Records are now written under the writer lock,
 * only while the migration is still the pending one. Whichever of the two then wins, the outcome is consistent.
 */
class RollbackRacingCheckpointWriteTest {
  @TempDir
  Path dir;

  @Test
  void aRollbackRacingTheFirstRecordLeavesEitherNoMigrationOrACompleteOne() {
    assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
      Path file = dir.resolve("v.vde");
      HookDevice dev = new HookDevice(FileBlockDevice.create(file));
      VirtualDisk disk = VirtualDisk.create(dev, CreateOptions.ofSize(4L << 20).blockSize(4096).inodeCount(512));
      for (int i = 0; i < 50; i++) {
        disk.writeFile("/f" + i, new byte[] {(byte) i});
      }
      long chk = disk.volume().regions().find(RegionDirectory.TAG_CHECKPOINT).start();
      Thread migrating = Thread.currentThread();
      AtomicReference<Throwable> rollbackFailure = new AtomicReference<>();
      boolean[] done = {false};
      List<Thread> rollbacks = new java.util.ArrayList<>();
      dev.hook = (pos, data) -> {
        if (done[0] || Thread.currentThread() != migrating) {
          return;
        }
        MigrationCheckpoint c = HookDevice.recordWritten(pos, data, 4096, chk);
        if (c != null && c.phase() == Phase.COPYING_INODES) {
          done[0] = true;
          // The migration is about to write its first COPYING record, outside the writer lock; a rollback
          // from another thread runs to completion right now.
          Thread r = new Thread(() -> {
            try {
              InodeMigration.rollback(disk);
            } catch (Throwable t) {
              rollbackFailure.set(t);
            }
          });
          r.start();
          // Until the rollback is done or waits for the writer lock (which the record write now holds).
          long until = System.nanoTime() + 20_000_000_000L;
          while (r.isAlive() && !WriterLockProbe.someoneWaits(disk) && System.nanoTime() < until) {
            Thread.onSpinWait();
          }
          rollbacks.add(r);
        }
      };
      Throwable migrationFailure = null;
      try {
        InodeMigration.start(disk, List.of(Module.TAGS),
            MigrationOptions.defaults().control(new MigrationControl(0, false)));
      } catch (Throwable e) {
        migrationFailure = e;
      }
      for (Thread r : rollbacks) {
        r.join(20_000);
      }
      assertThat(rollbacks).hasSize(1);
      if (rollbackFailure.get() == null) {
        // The rollback won: the migration ends with the engine's error, and nothing describes it any more.
        assertThat(migrationFailure).as("how start() ends after the rollback").isInstanceOf(VdeException.class);
        assertThat(InodeMigration.isPending(disk)).isFalse();
        disk.close();
        try (VirtualDisk reopened = VirtualDisk.open(file)) {
          assertThat(reopened.info().migration()).isNull();
          assertThat(reopened.info().modules()).isEmpty();
        }
        // What 'vde migrate status' prints while another process has the volume open:
        assertThat(InodeMigration.peek(file)).as("InodeMigration.peek after the rollback").isNull();
      } else {
        // The migration won: the rollback is refused, as for any migration that has swapped.
        assertThat(rollbackFailure.get()).isInstanceOf(VdeInvalidArgumentException.class);
        assertThat(migrationFailure).isNull();
        disk.close();
        try (VirtualDisk reopened = VirtualDisk.open(file)) {
          assertThat(reopened.info().modules()).containsExactly(Module.TAGS);
          assertThat(reopened.readFile("/f7")).containsExactly(7);
        }
        assertThat(InodeMigration.peek(file)).isNull();
      }
    });
  }
}
