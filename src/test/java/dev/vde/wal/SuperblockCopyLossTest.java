package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.format.Superblock;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One fault, no loss: after a crash, with acknowledged transactions in the WAL since the last checkpoint, either
 * superblock copy may be destroyed and the other must still find them. That holds because a checkpoint writes
 * its new WAL salt to both slots; a copy one checkpoint behind would name a dead epoch and silently drop every
 * transaction of the current one (the directory would then name inodes that are free).
 */
class SuperblockCopyLossTest {
  private static final int BS = 4096;

  @ParameterizedTest(name = "destroy the {0} copy")
  @ValueSource(strings = {"newest", "older"})
  void crashThenOneSuperblockCopyDestroyed_keepsEveryAcknowledgedWrite(String which) throws IOException {
    PowerLossDevice made = new PowerLossDevice("superblock loss");
    try (VirtualDisk d = VirtualDisk.create(made, CreateOptions.ofSize(8L << 20).blockSize(BS))) {
      d.writeFile("/before", SeededBytes.bytes(1, 300));
    }
    // Closing closes the device; the session below runs on a device holding the closed image.
    PowerLossDevice dev = PowerLossDevice.fromImage("superblock loss", made.snapshot());
    VirtualDisk d = TestVolumes.open(dev);
    // Enough small files that the WAL fills and checkpoints at least once while they are written, so the crash
    // finds a checkpoint that happened during this session and transactions after it.
    long checkpointsBefore = d.volume().journal().checkpoints();
    int files = 0;
    while (d.volume().journal().checkpoints() < checkpointsBefore + 2 || d.volume().journal().walUsed() == 0) {
      d.writeFile("/f" + files, SeededBytes.bytes(100 + files, 700));
      files++;
    }
    assertThat(d.volume().journal().walUsed()).as("acknowledged transactions wait in the WAL").isPositive();
    PowerLossDevice crashed = dev.powerLoss(KeepPolicy.NONE);
    TestVolumes.closeQuietly(d);

    long[] seq = new long[2];
    for (int slot = 0; slot < 2; slot++) {
      seq[slot] = Superblock.read(block(crashed, slot), slot, "test").sequence();
    }
    int newest = seq[0] > seq[1] ? 0 : 1;
    int victim = which.equals("newest") ? newest : 1 - newest;
    crashed.write((long) victim * BS, ByteBuffer.wrap(new byte[BS]));
    crashed.sync();

    try (VirtualDisk e = TestVolumes.open(crashed)) {
      assertThat(e.info().warnings()).anySatisfy(w -> assertThat(w).contains("block " + victim));
      assertThat(e.readFile("/before")).isEqualTo(SeededBytes.bytes(1, 300));
      for (int i = 0; i < files; i++) {
        assertThat(e.readFile("/f" + i)).as("/f%d", i).isEqualTo(SeededBytes.bytes(100 + i, 700));
      }
      TestVolumes.assertClean(e.verify(Progress.NONE), "after losing the " + which + " superblock copy");
    }
  }

  private static byte[] block(PowerLossDevice dev, long blockNo) throws IOException {
    byte[] b = new byte[BS];
    dev.read(blockNo * BS, ByteBuffer.wrap(b));
    return b;
  }
}
