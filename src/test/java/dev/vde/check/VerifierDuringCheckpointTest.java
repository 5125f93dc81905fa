package dev.vde.check;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.BlockDevice;
import dev.vde.io.FileBlockDevice;
import dev.vde.io.ForwardingBlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint writes the superblock to one slot, syncs, then to the other: in between, the two copies name
 * different WAL epochs, which is also what a checkpoint cut there leaves and what the verifier reports. A verify of
 * an open volume that ran in that gap reported a healthy volume as damaged; it must read the slots between
 * checkpoints.
 */
class VerifierDuringCheckpointTest {
  @TempDir
  Path tmp;

  /** Holds the sync after a checkpoint's first superblock write until released. */
  private static final class PausingDevice extends ForwardingBlockDevice {
    final int blockSize;
    final CountDownLatch paused = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    volatile boolean armed;
    volatile boolean slotWritten;

    PausingDevice(BlockDevice d, int blockSize) {
      super(d);
      this.blockSize = blockSize;
    }

    @Override
    public void write(long pos, ByteBuffer src) throws IOException {
      super.write(pos, src);
      if (armed && pos < 2L * blockSize) {
        slotWritten = true;
      }
    }

    @Override
    public void sync() throws IOException {
      super.sync();
      if (armed && slotWritten) {
        armed = false;
        paused.countDown();
        try {
          release.await(20, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  @Test
  void aVerifyDuringACheckpointSeesBothSlotsOfOneEpoch() throws Exception {
    Path p = tmp.resolve("v.vde");
    try (VirtualDisk d = VirtualDisk.create(p, CreateOptions.ofSize(8L << 20).blockSize(4096))) {
      d.writeFile("/a", new byte[100]);
    }
    PausingDevice dev = new PausingDevice(FileBlockDevice.open(p, false), 4096);
    try (VirtualDisk d = VirtualDisk.open(dev, OpenOptions.defaults())) {
      d.writeFile("/b", new byte[200]);
      dev.armed = true;
      CompletableFuture<Void> checkpoint = CompletableFuture.runAsync(() -> {
        try {
          d.checkpoint();
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      assertThat(dev.paused.await(20, TimeUnit.SECONDS)).as("the checkpoint reached its first slot").isTrue();
      CompletableFuture<VerifyReport> verify = CompletableFuture.supplyAsync(() -> {
        try {
          return d.verify(Progress.NONE);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      // Long enough for a verify that does not wait for the checkpoint to read both slots in the gap.
      Thread.sleep(300);
      dev.release.countDown();
      checkpoint.get(20, TimeUnit.SECONDS);
      VerifyReport r = verify.get(20, TimeUnit.SECONDS);
      assertThat(r.problems()).as("problems of a healthy volume verified during a checkpoint").isEmpty();
    }
  }
}
