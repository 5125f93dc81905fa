package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.ForwardingBlockDevice;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/**
 * A checkpoint that failed after its first superblock copy (step 6) was durable, at the second copy (6b), did not
 * stop the volume when it ran outside a group commit (an explicit checkpoint, one forced by allocation running
 * dry, a migration's): the journal kept its old salt and appended later transactions with it, while the newest
 * superblock on disk named a new one, so a crash lost operations acknowledged after the failure. Every failed
 * checkpoint now stops the volume (fail-stop) until it is reopened.
 */
class FailedCheckpointTest {
  /** Fails the {@code n}-th write to a superblock slot (blocks 0 and 1) once armed. */
  static final class FailNthSuperblockWrite extends ForwardingBlockDevice {
    final int blockSize;
    volatile int armedAt = -1;
    int seen;

    FailNthSuperblockWrite(PowerLossDevice d, int blockSize) {
      super(d);
      this.blockSize = blockSize;
    }

    @Override
    public synchronized void write(long pos, ByteBuffer src) throws IOException {
      if (armedAt > 0 && pos < 2L * blockSize && ++seen == armedAt) {
        armedAt = -1;
        throw new IOException("injected: superblock write failed");
      }
      super.write(pos, src);
    }
  }

  @Test
  void aFailedCheckpointStopsTheVolumeSoNothingAcknowledgedIsLost() throws Exception {
    PowerLossDevice plain = new PowerLossDevice("failed-checkpoint");
    FailNthSuperblockWrite dev = new FailNthSuperblockWrite(plain, 512);
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512));
    d.writeFile("/a", new byte[] {1, 2, 3});
    // The checkpoint's first superblock copy (new salt) is written and synced; the second copy fails.
    dev.armedAt = 2;
    assertThatThrownBy(d::checkpoint).isInstanceOf(IOException.class);
    // Fail-stop: nothing more is acknowledged that a crash could lose.
    assertThatThrownBy(() -> d.writeFile("/b", new byte[] {4, 5, 6})).isInstanceOf(IOException.class)
        .hasMessageContaining("reopen it to recover");
    // Power is lost now; what was acknowledged survives, and the volume opens.
    try (VirtualDisk re = TestVolumes.open(plain.powerLoss(KeepPolicy.NONE))) {
      assertThat(re.readFile("/a")).containsExactly(1, 2, 3);
      assertThat(re.exists("/b")).isFalse();
      assertThat(re.verify(Progress.NONE).problems()).isEmpty();
    }
  }
}
