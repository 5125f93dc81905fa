package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * A transaction that recovery rejected (it failed a data check: one of its in-place blocks never arrived) must
 * stay rejected. It used to stay in the WAL under the current salt when nothing was replayed, and a later crash,
 * after the same bytes had been written to the same free blocks by another file, made it valid and replayed it.
 */
class AbandonedTransactionTest {
  private static final int BS = 4096;
  /** More than 16 blocks (not journaled) and at most 256 (named by data checks, no sync before the commit). */
  private static final int BLOCKS = 40;

  /** Opens a copy of {@code dev} and writes {@code path} (zeros), cut at the write's last write: its WAL write. */
  private static PowerLossDevice cutAtTheWalWrite(PowerLossDevice dev, String path) throws IOException {
    PowerLossDevice probe = dev.powerLoss(KeepPolicy.ALL);
    long before;
    long after;
    try (VirtualDisk d = TestVolumes.open(probe)) {
      before = probe.writeCount();
      d.writeFile(path, new byte[BLOCKS * (BS - 16)]);
      after = probe.writeCount();
    }
    PowerLossDevice run = dev.powerLoss(KeepPolicy.ALL);
    VirtualDisk d = TestVolumes.open(run);
    assertThat(run.writeCount()).as("the open writes as in the probe").isEqualTo(before);
    run.crashAt(after - 1);
    try {
      d.writeFile(path, new byte[BLOCKS * (BS - 16)]);
      throw new AssertionError("the write was not cut");
    } catch (IOException expected) {
      assertThat(run.isCut()).isTrue();
    }
    return run;
  }

  @Test
  void aTransactionRejectedAtRecovery_isNotReplayedByALaterOne() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("abandoned");
    VirtualDisk.create(dev, TestVolumes.options(BS)).close();
    PowerLossDevice base = dev.powerLoss(KeepPolicy.NONE);
    // Session 1: the WAL transaction lands, the first of its data blocks does not.
    PowerLossDevice after1 = cutAtTheWalWrite(base, "/a").powerLoss(KeepPolicy.loseOne(BS, 0));
    try (VirtualDisk d = TestVolumes.open(after1)) {
      assertThat(d.exists("/a")).as("rejected: a data check failed").isFalse();
    }
    // Session 2: the same zeros under another name (same inode number, same blocks); its WAL write is lost.
    PowerLossDevice s2 = cutAtTheWalWrite(after1.powerLoss(KeepPolicy.ALL), "/q");
    PowerLossDevice after2 = s2.powerLoss(KeepPolicy.prefix(s2.pendingWriteCount() - 1));
    try (VirtualDisk d = TestVolumes.open(after2)) {
      assertThat(d.exists("/a")).as("session 1's rejected transaction replayed").isFalse();
      assertThat(d.exists("/q")).as("its WAL write was lost").isFalse();
    }
  }
}
