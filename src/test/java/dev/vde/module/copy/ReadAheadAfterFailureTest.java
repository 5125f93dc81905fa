package dev.vde.module.copy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.BlockDevice;
import dev.vde.io.FileBlockDevice;
import dev.vde.io.ForwardingBlockDevice;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The copy reads its source ahead on other threads. When it fails (here the destination refuses its first data
 * write), it must not return while those reads still go on: the caller takes the failure as the end of the copy and
 * closes (or hands back) its source, and a read still running then reads a device its owner has closed.
 */
class ReadAheadAfterFailureTest {
  @TempDir
  Path tmp;

  /**
   * A source whose first bulk read waits until two more have started (so that reads are running when the copy
   * fails, however slowly the host starts threads) and whose later ones take a while; counts those still running.
   */
  private static final class SlowReads extends ForwardingBlockDevice {
    final AtomicInteger calls = new AtomicInteger();
    final AtomicInteger running = new AtomicInteger();

    SlowReads(BlockDevice d) {
      super(d);
    }

    @Override
    public void readBulk(long pos, ByteBuffer dst) throws IOException {
      running.incrementAndGet();
      try {
        if (calls.getAndIncrement() > 0) {
          Thread.sleep(400);
        } else {
          long until = System.nanoTime() + 10_000_000_000L;
          while (calls.get() < 3 && System.nanoTime() < until) {
            Thread.sleep(5);
          }
        }
        delegate.readBulk(pos, dst);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException();
      } finally {
        running.decrementAndGet();
      }
    }
  }

  /** A destination whose first write after the marked superblocks fails. */
  private static final class FailsOnData extends ForwardingBlockDevice {
    int writes;

    FailsOnData(BlockDevice d) {
      super(d);
    }

    @Override
    public void write(long pos, ByteBuffer src) throws IOException {
      if (++writes > 2) {
        throw new IOException("the destination refuses this write");
      }
      delegate.write(pos, src);
    }
  }

  @Test
  void aFailedCopyReturnsOnlyOnceNoReadOfTheSourceIsStillRunning() throws Exception {
    Path src = tmp.resolve("src.vde");
    try (VirtualDisk d = VirtualDisk.create(src, CreateOptions.ofSize(32L << 20).blockSize(CopyFixtures.BS))) {
      // Three files of 5 MiB: several 2 MiB pieces, read ahead while the first is written.
      for (int i = 0; i < 3; i++) {
        d.writeFile("/big" + i, SeededBytes.bytes(i, 5 << 20));
      }
    }
    SlowReads source = new SlowReads(FileBlockDevice.open(src, true));
    try (VirtualDisk d = VirtualDisk.open(source, OpenOptions.readOnlyOptions())) {
      FailsOnData target = new FailsOnData(new PowerLossDevice("target"));
      assertThatThrownBy(() -> ExtentAwareCopy.copy(d, target, CopyOptions.defaults()))
          .hasMessageContaining("refuses this write");
      int stillRunning = source.running.get();
      int callsThen = source.calls.get();
      Thread.sleep(600);
      assertThat(stillRunning).as("reads of the source still running when the copy failed").isZero();
      assertThat(source.calls.get()).as("reads of the source started after the copy failed").isEqualTo(callsThen);
      assertThat(callsThen).as("reads the copy had started ahead").isGreaterThan(1);
    }
  }
}
