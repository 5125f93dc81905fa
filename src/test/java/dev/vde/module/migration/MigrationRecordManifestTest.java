package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeException;
import dev.vde.format.InodeLayout;
import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.fs.VirtualDisk;
import dev.vde.inode.InodeCodec;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.testing.PowerLossDevice;
import java.io.IOException;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A pending migration's record whose manifests or target layout do not agree with the volume and with each other
 * is treated as unreadable, even when its checksums are valid (re-sealed by a buggy or hostile writer): open warns,
 * nothing resumes it, and a rollback returns the volume as it was. Open used to check the layout in force and the
 * common fields' sizes only, so a record whose target dropped a module the volume has (Transit here, with its
 * layout and manifest) was resumed, and the swap installed it: every file's Transit value was gone and the module
 * with it, and the verifier called the volume clean. The same holds for a record that counts more inodes copied
 * than the copy wrote: open checked only the watermark's own block, so a record raised to a block boundary past
 * the copy was resumed from there, and the swap installed the blocks in between unwritten, every file there lost.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class MigrationRecordManifestTest {
  private static final long TAGS = Module.TAGS.bit();
  private static final long TRANSIT = Module.TRANSIT.bit();

  /** A volume with Transit values and a cancelled migration to Tags: its bytes, MCHK start and newest record. */
  private record Pending(MigrationFixture.Image image, byte[] bytes, long chk, MigrationCheckpoint record) {}

  private static Pending pending() throws IOException {
    return pending(MigrationFixture.smallSpec(2, 12, true));
  }

  private static Pending pending(MigrationFixture.Spec spec) throws IOException {
    MigrationFixture.Image image = MigrationFixture.build(spec);
    PowerLossDevice dev = image.device("pending migration");
    long chk;
    MigrationCheckpoint c;
    try (VirtualDisk disk = MigrationFixture.open(dev)) {
      MigrationControl ctl = new MigrationControl(0, false);
      assertThat(InodeMigration.start(disk, MigrationFixture.TAGS,
          MigrationOptions.defaults().control(ctl).checkpointEvery(48).listener(q -> ctl.cancel())).cancelled())
          .isTrue();
      chk = disk.volume().regions().find(RegionDirectory.TAG_CHECKPOINT).start();
      c = InodeMigration.status(disk);
    }
    assertThat(c.originalManifest()).isEqualTo(TRANSIT);
    return new Pending(image, dev.snapshot(), chk, c);
  }

  /** {@code p}'s image with {@code edit} of a successor of its record written, sealed, as the newest record. */
  private static PowerLossDevice withRecord(Pending p, UnaryOperator<MigrationCheckpoint> edit) {
    byte[] bytes = p.bytes().clone();
    MigrationCheckpoint c = edit.apply(p.record().with(p.record().phase(), p.record().inodesMigrated(),
        p.record().totalInodes(), p.record().lastCheckpointMillis()));
    System.arraycopy(c.write(4096), 0, bytes, (int) ((p.chk() + c.slot()) * 4096), 4096);
    return PowerLossDevice.fromImage("edited record", bytes);
  }

  private static MigrationCheckpoint target(MigrationCheckpoint c, long targetModules, long targetManifest,
      InodeLayout targetLayout) {
    return new MigrationCheckpoint(c.phase(), c.migrationId(), c.sequence(), targetModules, c.originalManifest(),
        targetManifest, c.originalLayout(), targetLayout, c.totalInodes(), c.inodesMigrated(), c.oldTableStart(),
        c.oldTableBlocks(), c.newTableStart(), c.newTableBlocks(), c.startMillis(), c.lastCheckpointMillis(),
        c.checkpointInterval());
  }

  private static void assertRefusedAndRolledBack(Pending p, PowerLossDevice dev, String what) throws IOException {
    try (VirtualDisk disk = MigrationFixture.open(dev)) {
      assertThat(InodeMigration.isPending(disk)).isTrue();
      assertThat(InodeMigration.status(disk)).as(what + ": taken as the pending migration").isNull();
      assertThat(disk.info().warnings()).as(what).anyMatch(w -> w.contains("does not fit the volume"));
      assertThatThrownBy(() -> InodeMigration.resume(disk, MigrationOptions.defaults()))
          .as(what).isInstanceOf(VdeException.class).hasMessageContaining("rollback");
      InodeMigration.rollback(disk);
      assertThat(disk.info().modules()).containsExactly(Module.TRANSIT);
      assertThat(MigrationFixture.transitDiff(disk, p.image().transit())).as(what).isEmpty();
      assertThat(MigrationFixture.treeDiff(disk, p.image().model())).as(what).isEmpty();
      assertThat(MigrationFixture.verifyProblems(disk)).as(what).isEmpty();
    }
  }

  @Test
  void aRecordCountingBlocksTheCopyNeverWrote_isNotResumed() throws IOException {
    Pending p = pending(MigrationFixture.smallSpec(4, 90, true));
    MigrationCheckpoint r = p.record();
    int ipb = InodeCodec.perBlock(4096, r.targetLayout().inodeSize());
    long raised = r.totalInodes() / ipb * ipb;
    // At least one whole block of inodes between what was copied and the raised count: those the resume skipped.
    assertThat(raised / ipb - 1).as("a block past the copy").isGreaterThan((r.inodesMigrated() + ipb - 1) / ipb);
    PowerLossDevice dev = withRecord(p, c -> c.with(c.phase(), raised, c.totalInodes(), c.lastCheckpointMillis()));
    assertRefusedAndRolledBack(p, dev, "record raised from " + r.inodesMigrated() + " to " + raised + " inodes");
  }

  @Test
  void aRecordWhoseTargetDropsAModuleOfTheVolume_isNotResumed() throws IOException {
    Pending p = pending();
    // Same inode size (441 and 440 bytes both round up to 448), so the new table's length still fits.
    assertThat(InodeLayout.canonical(TAGS).inodeSize()).isEqualTo(InodeLayout.canonical(TAGS | TRANSIT).inodeSize());
    PowerLossDevice dev = withRecord(p, c -> target(c, TAGS, TAGS, InodeLayout.canonical(TAGS)));
    assertRefusedAndRolledBack(p, dev, "target without Transit");
  }

  @Test
  void aRecordWhoseTargetLayoutLacksAFieldOfItsOwnManifest_isNotResumed() throws IOException {
    Pending p = pending();
    PowerLossDevice dev = withRecord(p, c -> target(c, TAGS, TAGS | TRANSIT, InodeLayout.canonical(TAGS)));
    assertRefusedAndRolledBack(p, dev, "target layout without Transit's field");
  }

  @Test
  void aRecordWhoseOriginalManifestIsNotTheVolumes_isNotResumed() throws IOException {
    Pending p = pending();
    PowerLossDevice dev = withRecord(p, c -> new MigrationCheckpoint(c.phase(), c.migrationId(), c.sequence(),
        c.targetModules(), 0, c.targetManifest(), c.originalLayout(), c.targetLayout(), c.totalInodes(),
        c.inodesMigrated(), c.oldTableStart(), c.oldTableBlocks(), c.newTableStart(), c.newTableBlocks(),
        c.startMillis(), c.lastCheckpointMillis(), c.checkpointInterval()));
    assertRefusedAndRolledBack(p, dev, "original manifest without Transit");
  }
}
