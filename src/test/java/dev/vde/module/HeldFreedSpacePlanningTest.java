package dev.vde.module;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeNoSpaceException;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import java.io.OutputStream;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Plans count blocks freed since the last checkpoint as free, because the allocating transaction can make them
 * allocatable with a checkpoint. Two kinds of freed blocks no checkpoint releases at once: those a batch freed,
 * while that batch runs (its transactions are not durable before it ends), and those freed after a streaming read
 * began, while it goes on. The planner counted them all the same and recommended a region addition that then
 * failed with "no contiguous run of 256 free blocks (largest is 0)".
 */
@Timeout(60)
class HeldFreedSpacePlanningTest {
  private static final int BS = 4096;
  private static final int PAYLOAD = BS - 16;
  private static final List<Module> INTG = List.of(Module.INTEGRITY);

  /** A full volume whose file /big, once deleted, leaves room for Integrity's region and nothing else does. */
  private static VirtualDisk fullVolume() throws Exception {
    VirtualDisk d = VirtualDisk.create(new PowerLossDevice("held frees"), CreateOptions.ofSize(16L << 20).blockSize(BS));
    long need = Module.INTEGRITY.regions().get(0).blocksFor(d.info().totalBlocks());
    d.writeFile("/keep", new byte[] {1, 2, 3});
    d.writeFile("/big", new byte[(int) (need + 10) * PAYLOAD]);
    int n = 0;
    try {
      while (true) {
        d.writeFile("/f" + n++, new byte[16 * PAYLOAD]);
      }
    } catch (VdeNoSpaceException full) {
      // on to single blocks
    }
    try {
      while (true) {
        d.writeFile("/g" + n++, new byte[PAYLOAD]);
      }
    } catch (VdeNoSpaceException full) {
      // full
    }
    d.checkpoint();
    assertThat(ModulePlanner.analyze(d, INTG).option(AdditionOption.REGION).feasible()).as("precondition").isFalse();
    return d;
  }

  private static void addsOnceReleased(VirtualDisk d) throws Exception {
    assertThat(ModulePlanner.analyze(d, INTG).recommended().option()).isEqualTo(AdditionOption.REGION);
    InPlaceAddition.add(d, INTG);
    assertThat(d.info().modules()).containsExactly(Module.INTEGRITY);
    assertThat(d.verify(Progress.NONE).problems()).isEmpty();
  }

  @Test
  void insideABatch_spaceTheBatchFreedIsNotPlannedUntilItEnds() throws Exception {
    try (VirtualDisk d = fullVolume()) {
      d.batch(x -> {
        x.delete("/big");
        ModulePlanner.OptionAnalysis region = ModulePlanner.analyze(x, INTG).option(AdditionOption.REGION);
        assertThat(region.feasible()).as("region in the batch: %s", region.reason()).isFalse();
        assertThatThrownBy(() -> InPlaceAddition.add(x, INTG)).isInstanceOf(VdeNoSpaceException.class)
            .hasMessageContaining("not enough contiguous free space").hasMessageContaining("inside the running batch");
      });
      assertThat(d.exists("/big")).isFalse();
      addsOnceReleased(d);
    }
  }

  @Test
  void whileAStreamingReadGoesOn_spaceFreedAfterItBeganIsNotPlanned() throws Exception {
    try (VirtualDisk d = fullVolume()) {
      CountDownLatch streaming = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      AtomicReference<Throwable> failure = new AtomicReference<>();
      Thread reader = new Thread(() -> {
        try {
          d.readFile("/keep", new OutputStream() {
            @Override
            public void write(int b) {
              write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) {
              streaming.countDown();
              try {
                release.await();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }
          });
        } catch (Throwable t) {
          failure.set(t);
        }
      });
      reader.start();
      assertThat(streaming.await(30, TimeUnit.SECONDS)).isTrue();
      d.delete("/big");

      ModulePlanner.OptionAnalysis region = ModulePlanner.analyze(d, INTG).option(AdditionOption.REGION);
      assertThat(region.feasible()).as("region while the read goes on: %s", region.reason()).isFalse();
      assertThatThrownBy(() -> InPlaceAddition.add(d, INTG)).isInstanceOf(VdeNoSpaceException.class)
          .hasMessageContaining("not enough contiguous free space").hasMessageContaining("streaming read");
      assertThat(d.info().modules()).isEmpty();

      release.countDown();
      reader.join();
      assertThat(failure.get()).isNull();
      addsOnceReleased(d);
    }
  }
}
