package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeException;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.BlockDevice;
import dev.vde.io.ForwardingBlockDevice;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.nio.ByteBuffer;
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
  /** Throws an Error from the next write into the WAL once armed. */
  private static final class ErrorOnWalWrite extends ForwardingBlockDevice {
    volatile long walStart = -1;
    volatile long walEnd;

    ErrorOnWalWrite(BlockDevice d) {
      super(d);
    }

    @Override
    public void write(long pos, ByteBuffer src) throws IOException {
      if (walStart >= 0 && pos >= walStart && pos < walEnd) {
        walStart = -1;
        throw new OutOfMemoryError("injected while writing the WAL");
      }
      super.write(pos, src);
    }
  }

  @Test
  void anErrorInTheGroupCommit_stopsTheJournal_andNothingLaterIsAcknowledged() throws Exception {
    PowerLossDevice plain = new PowerLossDevice("error-in-group");
    ErrorOnWalWrite dev = new ErrorOnWalWrite(plain);
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(4096));
    d.writeFile("/before", new byte[] {1});
    int bs = d.volume().blockSize();
    dev.walEnd = (d.volume().superblock().walStart() + d.volume().superblock().walBlocks()) * bs;
    dev.walStart = d.volume().superblock().walStart() * bs;
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
