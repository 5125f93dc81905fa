package dev.vde.crash;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** Crash sweep with 4096-byte blocks, the default block size; the sweep itself is in {@link AbstractCrashPointTest}. */
class CrashPoint4kTest extends AbstractCrashPointTest {
  @Override
  int blockSize() {
    return 4096;
  }

  /** Guards the sweep's premise: the volume the workload builds really uses this class's block size. */
  @Test
  void workloadVolume_hasTheBlockSizeUnderTest() throws IOException {
    VirtualDisk disk = new CrashHarness(new Workload(blockSize())).runStep(0, new PowerLossDevice(), null);
    assertThat(disk.info().blockSize()).isEqualTo(4096);
    disk.close();
  }
}
