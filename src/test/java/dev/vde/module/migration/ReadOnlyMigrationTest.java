package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeReadOnlyException;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.FileBlockDevice;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A volume opened read-only refuses to resume or roll back its pending migration with {@link VdeReadOnlyException},
 * before writing anything. Both used to write to it regardless: the copy writes the new table and the checkpoint
 * records straight to the device, not through a transaction, so only the swap (or the rollback's transaction)
 * met the read-only check. A host file opened read-only failed with the JDK's NonWritableChannelException, and a
 * writable device (a volume read-only for its WAL damage or features this engine does not know) was written to.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReadOnlyMigrationTest {
  @TempDir
  Path dir;

  private Path file;

  /** A closed volume with a migration pending: started, cancelled after its first batch. */
  @BeforeEach
  void pendingMigration() throws Exception {
    file = dir.resolve("v.vde");
    try (VirtualDisk disk = VirtualDisk.create(file, CreateOptions.ofSize(4L << 20).blockSize(4096)
        .inodeCount(512))) {
      for (int i = 0; i < 50; i++) {
        disk.writeFile("/f" + i, new byte[] {(byte) i});
      }
      MigrationControl ctl = new MigrationControl(0, false);
      assertThat(InodeMigration.start(disk, MigrationFixture.TAGS,
          MigrationOptions.defaults().control(ctl).checkpointEvery(48).listener(p -> ctl.cancel())).cancelled())
          .isTrue();
    }
  }

  @Test
  void resumeOnAReadOnlyVolume_isRefusedAndWritesNothing() throws Exception {
    byte[] before = Files.readAllBytes(file);
    try (VirtualDisk disk = VirtualDisk.open(file, OpenOptions.readOnlyOptions())) {
      assertThatThrownBy(() -> InodeMigration.resume(disk, MigrationOptions.defaults()))
          .isInstanceOf(VdeReadOnlyException.class).hasMessageContaining("read-only");
      assertThat(InodeMigration.isPending(disk)).isTrue();
    }
    assertThat(Arrays.equals(Files.readAllBytes(file), before)).as("image unchanged").isTrue();
  }

  /** Read-only on request over a device that could write: what the volume promised is what counts. */
  @Test
  void resumeOnAReadOnlyVolumeOverAWritableDevice_writesNothing() throws Exception {
    byte[] before = Files.readAllBytes(file);
    try (VirtualDisk disk = VirtualDisk.open(FileBlockDevice.open(file, false), OpenOptions.readOnlyOptions())) {
      assertThatThrownBy(() -> InodeMigration.resume(disk, MigrationOptions.defaults()))
          .isInstanceOf(VdeReadOnlyException.class).hasMessageContaining("read-only");
    }
    assertThat(Arrays.equals(Files.readAllBytes(file), before)).as("image unchanged").isTrue();
  }

  @Test
  void rollbackOnAReadOnlyVolume_isRefusedAndWritesNothing() throws Exception {
    byte[] before = Files.readAllBytes(file);
    try (VirtualDisk disk = VirtualDisk.open(file, OpenOptions.readOnlyOptions())) {
      assertThatThrownBy(() -> InodeMigration.rollback(disk))
          .isInstanceOf(VdeReadOnlyException.class).hasMessageContaining("read-only");
    }
    assertThat(Arrays.equals(Files.readAllBytes(file), before)).as("image unchanged").isTrue();
    // Still resumable: no ROLLING_BACK record was left behind.
    try (VirtualDisk disk = VirtualDisk.open(file)) {
      assertThat(InodeMigration.resume(disk, MigrationOptions.defaults()).cancelled()).isFalse();
    }
  }
}
