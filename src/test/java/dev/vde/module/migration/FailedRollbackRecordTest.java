package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.FileBlockDevice;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationResult;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rollback whose ROLLING_BACK record could not be written (an I/O error of the host file) fails and leaves the
 * migration pending, resumable. It used to take the migration target away before writing that record: inode
 * writes after the failure then went to the old table only, and a resume, which reinstalls the target at the
 * recorded watermark, swapped in a new table whose copied part lacked them. An acknowledged file replacement was
 * lost and the volume left with a block mapped but free and a wrong link count.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FailedRollbackRecordTest {
  @TempDir
  Path dir;

  @Test
  void aRollbackThatCannotWriteItsRecord_leavesTheMigrationIntact_andResumeKeepsLaterWrites() throws Exception {
    Path file = dir.resolve("v.vde");
    HookDevice dev = new HookDevice(FileBlockDevice.create(file));
    VirtualDisk disk = VirtualDisk.create(dev, CreateOptions.ofSize(4L << 20).blockSize(4096).inodeCount(512));
    for (int i = 0; i < 50; i++) {
      disk.writeFile("/f" + i, new byte[] {(byte) i});
    }
    // Cancelled after its first batch, which ends at a third of the interval (16 inodes): pending, with a
    // watermark above the inodes of /f3 and the root.
    MigrationControl ctl = new MigrationControl(0, false);
    MigrationResult first = InodeMigration.start(disk, MigrationFixture.TAGS,
        MigrationOptions.defaults().control(ctl).checkpointEvery(48).listener(p -> ctl.cancel()));
    assertThat(first.cancelled()).isTrue();
    assertThat(InodeMigration.status(disk).inodesMigrated()).isGreaterThan(disk.stat("/f3").inode());

    long chk = disk.volume().regions().find(RegionDirectory.TAG_CHECKPOINT).start();
    dev.hook = (pos, data) -> {
      if (pos / 4096 == chk || pos / 4096 == chk + 1) {
        throw new IOException("injected: the migration record cannot be written");
      }
    };
    assertThatThrownBy(() -> InodeMigration.rollback(disk)).hasMessageContaining("injected");
    dev.hook = (pos, data) -> {};
    assertThat(InodeMigration.isPending(disk)).isTrue();

    // Acknowledged after the failed rollback, to inodes below the watermark: the file and the root directory.
    byte[] changed = "replaced after the rollback failed".getBytes(StandardCharsets.UTF_8);
    disk.writeFile("/f3", changed);
    disk.mkdir("/later");

    InodeMigration.resume(disk, MigrationOptions.defaults());
    assertThat(disk.readFile("/f3")).isEqualTo(changed);
    assertThat(disk.exists("/later")).isTrue();
    disk.close();
    try (VirtualDisk reopened = VirtualDisk.open(file)) {
      assertThat(reopened.info().modules()).containsExactly(Module.TAGS);
      assertThat(reopened.readFile("/f3")).isEqualTo(changed);
      assertThat(reopened.readFile("/f7")).containsExactly(7);
      TestVolumes.assertClean(reopened.verify(Progress.NONE), "after a failed rollback and a resume");
    }
  }
}
