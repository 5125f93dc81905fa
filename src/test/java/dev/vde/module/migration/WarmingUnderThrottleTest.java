package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.ForwardingBlockDevice;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.testing.PowerLossDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The old table is read ahead of the copy only while the copy runs unthrottled: under an IOPS limit, reads ahead
 * would spend the device's I/O that the limit holds back from the migration. Either way the migration is the same.
 */
class WarmingUnderThrottleTest {
  /** Counts reads made on the read-ahead threads. */
  private static final class CountingDevice extends ForwardingBlockDevice {
    final AtomicInteger readAhead = new AtomicInteger();

    CountingDevice() {
      super(new PowerLossDevice("warm-throttle"));
    }

    @Override
    public void read(long pos, ByteBuffer dst) throws IOException {
      if (Thread.currentThread().getName().equals("vde-read-ahead")) {
        readAhead.incrementAndGet();
      }
      delegate.read(pos, dst);
    }
  }

  @Test
  void aThrottledMigration_readsNothingAhead() throws Exception {
    CountingDevice dev = new CountingDevice();
    try (VirtualDisk disk = VirtualDisk.create(dev, CreateOptions.ofSize(8L << 20).blockSize(512).inodeCount(2048))) {
      disk.batch(x -> {
        for (int i = 0; i < 1500; i++) {
          x.writeFile("/f" + i, new byte[] {(byte) i});
        }
      });
      // High enough to finish in well under a second, low enough to be a limit.
      MigrationControl throttled = new MigrationControl(20_000, false);
      InodeMigration.start(disk, List.of(Module.TAGS), MigrationOptions.defaults().checkpointEvery(300)
          .control(throttled));
      assertThat(dev.readAhead.get()).isZero();
      assertThat(disk.readFile("/f1499")).containsExactly((byte) 1499);
      assertThat(disk.volume().superblock().inodeSize()).isEqualTo(448);
    }
  }
}
