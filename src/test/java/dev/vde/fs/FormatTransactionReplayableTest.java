package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.BlockType;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.TestVolumes;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Recovery treats a WAL transaction as not committed when it holds an image for superblock slot 1, for a block of
 * the WAL or past the end, or a superblock of another geometry: no engine writes one, and applying it would write
 * the WAL over itself or describe another volume. A format transaction could commit exactly that: it was
 * acknowledged and published, but after a crash before the next checkpoint recovery stopped in front of it, so it
 * was lost, and with it every transaction acknowledged after it (whose presence then made the volume open read-only
 * as damaged). Such a change is now refused before anything is written.
 */
class FormatTransactionReplayableTest {
  private static final int BS = 512;

  private static Superblock withTotalBlocks(Superblock s, long total) {
    return new Superblock(s.formatMajor(), s.formatMinor(), s.blockSize(), s.inodeSize(), total, s.uuid(),
        s.createdMillis(), s.modifiedMillis(), s.sequence(), s.compat(), s.roCompat(), s.incompat(),
        s.moduleManifest(), s.moduleConfig(), s.inodeCount(), s.inodesUsed(), s.freeBlocks(), s.regionDirStart(),
        s.regionDirBlocks(), s.walStart(), s.walBlocks(), s.checkpointTxId(), s.walSalt(), s.inodeTableInitBlocks(),
        s.label(), s.layout());
  }

  @Test
  void aFormatChangeThatRecoveryWouldNotReplayIsRefused_andWhatFollowsSurvivesACrash() throws Exception {
    PowerLossDevice plain = new PowerLossDevice("format-replayable");
    VirtualDisk d = VirtualDisk.create(plain, TestVolumes.options(BS));
    d.writeFile("/a", new byte[] {1});
    Superblock sb = d.volume().superblock();
    byte[] zeros = new byte[BS];
    Function<Long, VirtualDisk.FormatWork<Void>> putAt = b -> tx -> {
      tx.put(b, BlockType.DIRECTORY, 0, zeros.clone());
      return null;
    };
    for (long b : new long[] {0, 1, sb.walStart(), sb.walStart() + sb.walBlocks() - 1, sb.totalBlocks()}) {
      assertThatThrownBy(() -> d.changeFormat(putAt.apply(b))).as("image for block %d", b)
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("block " + b);
    }
    assertThatThrownBy(() -> d.changeFormat(tx -> {
      tx.setSuperblock(withTotalBlocks(tx.superblock(), tx.superblock().totalBlocks() + 1));
      return null;
    })).isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("geometry");
    assertThat(d.volume().superblock().totalBlocks()).isEqualTo(sb.totalBlocks());

    // Nothing of the refused changes is in the WAL: what is acknowledged after them survives a crash.
    d.writeFile("/b", new byte[] {2});
    try (VirtualDisk re = TestVolumes.open(plain.powerLoss(KeepPolicy.NONE))) {
      assertThat(re.isReadOnly()).as("read-only reason: %s", re.readOnlyReason()).isFalse();
      assertThat(re.readFile("/a")).containsExactly(1);
      assertThat(re.readFile("/b")).containsExactly(2);
      assertThat(re.verify(Progress.NONE).problems()).isEmpty();
    }
  }

  @Test
  void aFormatChangeThatWouldLeaveAVolumeThatNoLongerOpensIsRefused() throws Exception {
    PowerLossDevice plain = new PowerLossDevice("format-unopenable");
    VirtualDisk d = VirtualDisk.create(plain, TestVolumes.options(BS));
    d.writeFile("/a", new byte[] {1});
    RegionDirectory.Entry wal = d.volume().regions().find(RegionDirectory.TAG_WAL);
    assertThatThrownBy(() -> d.changeFormat(tx -> {
      tx.setRegions(tx.regions().without(RegionDirectory.TAG_WAL));
      return null;
    })).isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("no longer opens");
    assertThatThrownBy(() -> d.changeFormat(tx -> {
      tx.setRegions(tx.regions().replacing(RegionDirectory.TAG_WAL,
          new RegionDirectory.Entry(wal.tag(), wal.flags(), wal.start(), wal.blocks() - 1)));
      return null;
    })).isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("disagrees with the superblock");
    assertThatThrownBy(() -> d.changeFormat(tx -> {
      tx.setSuperblock(tx.superblock().withIncompat(tx.superblock().incompat()
          | Superblock.INCOMPAT_MIGRATION_PENDING));
      tx.setRegions(tx.regions().with(new RegionDirectory.Entry(RegionDirectory.TAG_INODES_OLD, 0,
          tx.allocateContiguous(4), 4)));
      tx.setSuperblock(tx.superblock().withIncompat(tx.superblock().incompat()
          & ~Superblock.INCOMPAT_MIGRATION_PENDING));
      return null;
    })).isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("no inode migration is pending");
    d.writeFile("/b", new byte[] {2});
    d.close();
    try (VirtualDisk re = TestVolumes.open(plain.powerLoss(KeepPolicy.NONE))) {
      assertThat(re.readFile("/a")).containsExactly(1);
      assertThat(re.readFile("/b")).containsExactly(2);
      assertThat(re.verify(Progress.NONE).problems()).isEmpty();
    }
  }
}
