package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.MigrationCheckpoint.Phase;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationResult;
import dev.vde.testing.TestVolumes;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A second run of a migration that is already running in the process ({@code resume}, or {@code start} with the
 * same modules, from another thread) used to run alongside the first. Each run keeps its own chain of records and
 * writes each into the slot that does not hold the newest record it knows, so with two chains a record could go
 * into the slot holding the other run's newest durable record while the other slot held a record not yet synced:
 * a crash that tore both left no readable record, and the migration could only be rolled back. Records also
 * went back and forth between the two runs' watermarks. A second run is now refused while the first runs.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ConcurrentRunTest {
  private static final int FILES = 300;

  @TempDir
  Path dir;

  @Test
  void aSecondRunOfARunningMigration_isRefused_andTheFirstCompletes() throws Exception {
    Path file = dir.resolve("v.vde");
    VirtualDisk disk = VirtualDisk.create(file, CreateOptions.ofSize(8L << 20).blockSize(4096).inodeCount(1024));
    disk.batch(x -> {
      for (int i = 0; i < FILES; i++) {
        x.writeFile("/f" + i, new byte[] {(byte) i, (byte) (i >> 8)});
      }
    });
    CountDownLatch atPosition = new CountDownLatch(1);
    CountDownLatch goOn = new CountDownLatch(1);
    // Positions every 10 inodes: at the report of 20 a sync is in flight and the record of 10 waits for it.
    MigrationOptions first = MigrationOptions.defaults().checkpointEvery(30).maxTimeBetweenCheckpoints(null)
        .listener(p -> {
          if (p.phase() == Phase.COPYING_INODES && p.migrated() >= 20 && atPosition.getCount() > 0) {
            atPosition.countDown();
            try {
              goOn.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
        });
    CompletableFuture<MigrationResult> result = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try {
        result.complete(InodeMigration.start(disk, MigrationFixture.TAGS, first));
      } catch (Throwable e) {
        result.completeExceptionally(e);
      }
    }, "first run");
    t.setDaemon(true);
    t.start();
    try {
      assertThat(atPosition.await(20, TimeUnit.SECONDS)).isTrue();
      MigrationCheckpoint before = InodeMigration.status(disk);
      MigrationOptions second = MigrationOptions.defaults().checkpointEvery(30);
      assertThatThrownBy(() -> InodeMigration.resume(disk, second))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("already running");
      assertThatThrownBy(() -> InodeMigration.start(disk, MigrationFixture.TAGS, second))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("already running");
      assertThat(InodeMigration.status(disk)).as("the refused runs changed nothing").isEqualTo(before);
    } finally {
      goOn.countDown();
    }
    MigrationResult r = result.get(30, TimeUnit.SECONDS);
    assertThat(r.cancelled()).isFalse();
    assertThat(disk.info().modules()).containsExactly(Module.TAGS);
    // Once the first run has returned, the next migration may run.
    disk.close();
    try (VirtualDisk re = VirtualDisk.open(file)) {
      for (int i = 0; i < FILES; i += 17) {
        assertThat(re.readFile("/f" + i)).containsExactly((byte) i, (byte) (i >> 8));
      }
      TestVolumes.assertClean(re.verify(Progress.NONE), "after a second run was refused");
    }
  }
}
