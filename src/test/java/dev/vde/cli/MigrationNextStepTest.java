package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.FileBlockDevice;
import dev.vde.io.ForwardingBlockDevice;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vde info} and {@code vde migrate status} offer only the command that can go on with a pending migration:
 * a rollback under way can only be finished by {@code rollback} (resume refuses it), and a migration whose swap
 * has committed only by {@code resume} (rollback refuses it). Both used to offer "resume|rollback" whatever the
 * state, pointing at the command that would be refused.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class MigrationNextStepTest {
  private static final int BS = 4096;

  @TempDir
  Path dir;

  /** Creates a volume with a migration to Tags that was cancelled after its first batch; returns the MCHK start. */
  private long pendingMigration(Path img) throws IOException {
    try (VirtualDisk disk = VirtualDisk.create(img, CreateOptions.ofSize(4L << 20).blockSize(BS).inodeCount(512))) {
      for (int i = 0; i < 40; i++) {
        disk.writeFile("/f" + i, new byte[] {(byte) i});
      }
      MigrationControl ctl = new MigrationControl(0, false);
      assertThat(InodeMigration.start(disk, List.of(Module.TAGS),
          MigrationOptions.defaults().control(ctl).checkpointEvery(48).listener(p -> ctl.cancel())).cancelled())
          .isTrue();
      return disk.volume().regions().find(RegionDirectory.TAG_CHECKPOINT).start();
    }
  }

  @Test
  void aRollbackUnderWay_isOfferedOnlyRollback() throws Exception {
    Path img = dir.resolve("v.vde");
    long chk = pendingMigration(img);
    // What a rollback cut between its record and its transaction leaves: a ROLLING_BACK record, the bit still set.
    try (FileChannel ch = FileChannel.open(img, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer a = ByteBuffer.allocate(BS);
      ByteBuffer b = ByteBuffer.allocate(BS);
      ch.read(a, chk * BS);
      ch.read(b, (chk + 1) * BS);
      MigrationCheckpoint c = MigrationCheckpoint.newest(a.array(), b.array(), chk, img.toString());
      MigrationCheckpoint r = c.with(MigrationCheckpoint.Phase.ROLLING_BACK, c.inodesMigrated(), c.totalInodes(),
          System.currentTimeMillis());
      ch.write(ByteBuffer.wrap(r.write(BS)), (chk + r.slot()) * BS);
    }
    String status = Cli.run("migrate", "status", img).ok().stdout();
    assertThat(status).contains("ROLLING_BACK").contains("vde migrate rollback").doesNotContain("resume");
    assertThat(Cli.run("info", img).ok().stdout()).contains("ROLLING_BACK").doesNotContain("resume");
    // The command not offered is indeed refused.
    assertThat(Cli.run("migrate", "resume", img).failsWith(ExitCodes.FAILED).stderr()).contains("rolled back");
  }

  @Test
  void aMigrationWhoseSwapCommitted_isOfferedOnlyResume() throws Exception {
    Path img = dir.resolve("v.vde");
    long chk = pendingMigration(img);
    // A resume that stops after the swap, as a crash there does: its COMPLETE record cannot be written.
    VirtualDisk disk = VirtualDisk.open(new ForwardingBlockDevice(FileBlockDevice.open(img, false)) {
      @Override
      public void write(long pos, ByteBuffer src) throws IOException {
        long block = pos / BS;
        if (src.remaining() == BS && (block == chk || block == chk + 1)) {
          byte[] data = new byte[BS];
          src.duplicate().get(data);
          MigrationCheckpoint c = MigrationCheckpoint.read(data, block, "probe");
          if (c != null && c.phase() == MigrationCheckpoint.Phase.COMPLETE) {
            throw new IOException("injected: the COMPLETE record cannot be written");
          }
        }
        super.write(pos, src);
      }
    }, OpenOptions.defaults());
    try {
      InodeMigration.resume(disk, MigrationOptions.defaults());
    } catch (IOException expected) {
      assertThat(expected).hasMessageContaining("injected");
    } finally {
      disk.close();
    }
    String status = Cli.run("migrate", "status", img).ok().stdout();
    assertThat(status).contains("pending").contains("vde migrate resume").doesNotContain("rollback");
    assertThat(Cli.run("info", img).ok().stdout()).contains("vde migrate resume").doesNotContain("rollback");
    assertThat(Cli.run("migrate", "rollback", img).failsWith(ExitCodes.FAILED).stderr()).contains("resume");
  }
}
