package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeException;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.ErrorOnWalWriteDevice;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.TestVolumes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A group commit that ended in an {@link Error} rather than an exception (out of memory while encoding the
 * group, say) was not a failure to the journal: the group had already left the queue, so it was never written,
 * while the journal went on. The next operation was acknowledged in a WAL transaction that lacked the blocks only
 * the lost one had changed (a waiter of the lost group would have waited for good), and a clean close or a crash
 * then left a volume whose directory names an inode that was never written. The journal now stops as for an I/O
 * error; the Error still reaches the thread that met it.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ErrorInGroupCommitTest {
  @Test
  void anErrorInTheGroupCommit_stopsTheJournal_andNothingLaterIsAcknowledged() throws Exception {
    PowerLossDevice plain = new PowerLossDevice("error-in-group");
    ErrorOnWalWriteDevice dev = new ErrorOnWalWriteDevice(plain);
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(4096));
    d.writeFile("/before", new byte[] {1});
    dev.arm(d.volume().superblock());
    assertThatThrownBy(() -> d.writeFile("/a", new byte[] {2})).isInstanceOf(OutOfMemoryError.class);
    assertThatThrownBy(() -> d.writeFile("/b", new byte[] {3})).isInstanceOf(VdeException.class)
        .hasMessageContaining("reopen it to recover");
    TestVolumes.closeQuietly(d);
    try (VirtualDisk re = TestVolumes.open(plain.powerLoss(KeepPolicy.NONE))) {
      assertThat(re.readFile("/before")).containsExactly(1);
      assertThat(re.exists("/b")).isFalse();
      TestVolumes.assertClean(re.verify(Progress.NONE), "after an Error in a group commit");
    }
  }
}
