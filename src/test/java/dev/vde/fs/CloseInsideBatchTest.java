package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.TestVolumes;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code close()} called from inside {@code batch()}: the batch's operations so far had returned, and close
 * promises to make everything durable, but they were held back for the batch's end, so close checkpointed without
 * them and closed the device; the batch's end then failed writing them to the closed device ("volume stopped after
 * an I/O error in the metadata WAL") and they were lost. Close now makes them durable with everything else.
 */
class CloseInsideBatchTest {
  @TempDir
  Path dir;

  @Test
  void closeInsideABatch_makesTheBatchsOperationsDurable() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("close-in-batch");
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512));
    d.writeFile("/before", new byte[] {1});
    d.batch(x -> {
      x.writeFile("/a", new byte[] {2});
      x.mkdir("/dir");
      x.close();
    });
    try (VirtualDisk re = TestVolumes.open(dev.powerLoss(KeepPolicy.NONE))) {
      assertThat(re.readFile("/before")).containsExactly(1);
      assertThat(re.readFile("/a")).containsExactly(2);
      assertThat(re.exists("/dir")).isTrue();
      assertThat(re.verify(Progress.NONE).problems()).isEmpty();
    }
  }

  @Test
  void closeInsideABatchOnAHostFile_leavesAVolumeWithTheBatch() throws Exception {
    Path img = dir.resolve("v.vde");
    try (VirtualDisk d = VirtualDisk.create(img, CreateOptions.ofSize(4L << 20).blockSize(4096))) {
      d.batch(x -> {
        x.writeFile("/a", new byte[] {3});
        x.close();
      });
      assertThat(d.volume().journal().isFailed()).isFalse();
    }
    try (VirtualDisk re = VirtualDisk.open(img)) {
      assertThat(re.readFile("/a")).containsExactly(3);
    }
  }
}
