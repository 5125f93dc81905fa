package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationResult;
import dev.vde.testing.TestVolumes;
import java.nio.file.Path;
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
    HeldMigration.writeNumberedFiles(disk, FILES);
    HeldMigration run = new HeldMigration(disk, () -> {});
    try (run) {
      run.awaitHeld();
      MigrationCheckpoint before = InodeMigration.status(disk);
      MigrationOptions second = MigrationOptions.defaults().checkpointEvery(HeldMigration.EVERY);
      assertThatThrownBy(() -> InodeMigration.resume(disk, second))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("already running");
      assertThatThrownBy(() -> InodeMigration.start(disk, MigrationFixture.TAGS, second))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("already running");
      assertThat(InodeMigration.status(disk)).as("the refused runs changed nothing").isEqualTo(before);
    }
    MigrationResult r = run.result.get(30, TimeUnit.SECONDS);
    assertThat(r.cancelled()).isFalse();
    assertThat(disk.info().modules()).containsExactly(Module.TAGS);
    // Once the first run has returned, the next migration may run.
    disk.close();
    try (VirtualDisk re = VirtualDisk.open(file)) {
      HeldMigration.assertNumberedFiles(re, FILES, 17);
      TestVolumes.assertClean(re.verify(Progress.NONE), "after a second run was refused");
    }
  }
}
