package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * A batch whose metadata fits in the WAL as one transaction (it is written as one when the WAL is empty) was
 * queued as two entries, because Journal.commit's merge estimate added the queued entry's size and the new
 * transaction's without counting the blocks they share. At release the leader wrote the first entry alone when
 * it fit the WAL's remaining room and both together did not, checkpointed, and wrote the second: a crash in
 * between kept half of the batch. The estimate now counts the merged entry.
 */
class BatchAtomicityTest {
  static final int BS = 512;
  static final long WAL = 25;
  static final byte[] A = SeededBytes.bytes(1, 200 * 496);
  static final byte[] X = SeededBytes.bytes(2, 200 * 496);

  /**
   * Runs the workload; with {@code preWrites} small writes in the WAL before the batch. Returns the device writes
   * the batch issued (or -1 after a cut) and, in {@code groups[0]}, the WAL transactions it was written in.
   */
  static long run(PowerLossDevice dev, int preWrites, long cutAfterBatchStart, long[] groups) throws IOException {
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(BS).walBlocks(WAL));
    try {
      d.mkdir("/d");
      d.checkpoint();
      for (int i = 0; i < preWrites; i++) {
        d.writeFile("/pre" + i, new byte[] {1});
      }
      long start = dev.writeCount();
      long g0 = d.volume().journal().groupsWritten();
      if (cutAfterBatchStart >= 0) {
        dev.crashAt(start + cutAfterBatchStart);
      }
      d.batch(x -> {
        x.writeFile("/a", A);
        x.writeFile("/d/x", X);
      });
      groups[0] = d.volume().journal().groupsWritten() - g0;
      long n = dev.writeCount() - start;
      d.close();
      return n;
    } catch (IOException e) {
      if (!dev.isCut()) {
        throw e;
      }
      return -1;
    }
  }

  @Test
  void aBatchThatFitsTheWalIsAllOrNothing() throws Exception {
    long[] groups = new long[1];
    run(new PowerLossDevice("batch-empty-wal"), 0, -1, groups);
    assertThat(groups[0]).as("on an empty WAL the whole batch is one WAL transaction: it fits").isEqualTo(1);

    long writes = run(new PowerLossDevice("batch"), 1, -1, groups);
    for (long k = 0; k < writes; k++) {
      PowerLossDevice dev = new PowerLossDevice("batch@" + k);
      run(dev, 1, k, new long[1]);
      for (KeepPolicy p : new KeepPolicy[] {KeepPolicy.NONE, KeepPolicy.ALL}) {
        try (VirtualDisk re = TestVolumes.open(dev.powerLoss(p))) {
          assertThat(re.exists("/d/x")).as("cut at the batch's write %d (of %d), %s: /a exists=%s, /d/x exists=%s",
              k, writes, p, re.exists("/a"), re.exists("/d/x")).isEqualTo(re.exists("/a"));
        }
      }
    }
  }
}
