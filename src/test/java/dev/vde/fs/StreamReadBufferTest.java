package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import java.io.ByteArrayOutputStream;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every thread that filled a piece of a streamed read kept a direct read buffer of the piece's size (rounded up
 * to 8 MiB) for as long as it lived, so a server whose many threads stream large files held one per thread. The
 * read buffers are now shared and at most {@link FileStreamer#RAW_KEPT} are kept, however many threads streamed.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class StreamReadBufferTest {
  private static final int BS = 4096;
  private static final int PIECE = FileStreamer.PIECE_BYTES / BS * (BS - 16);

  @Test
  void manyStreamingThreadsShareABoundedSetOfReadBuffers() throws Exception {
    int threads = 3 * FileStreamer.RAW_KEPT;
    byte[] content = SeededBytes.bytes(5, 2 * PIECE + 123);
    try (VirtualDisk d = VirtualDisk.create(new PowerLossDevice("read-buffers"),
        CreateOptions.ofSize(64L << 20).blockSize(BS))) {
      d.writeFile("/f", content);
      long before = directMemoryUsed();
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      CountDownLatch read = new CountDownLatch(threads);
      CountDownLatch measured = new CountDownLatch(1);
      try {
        List<Future<byte[]>> got = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
          got.add(pool.submit(() -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            d.readFile("/f", out);
            read.countDown();
            // Alive until measured: a buffer kept per thread would still be reachable.
            measured.await();
            return out.toByteArray();
          }));
        }
        assertThat(read.await(60, TimeUnit.SECONDS)).isTrue();
        long bound = FileStreamer.RAW_KEPT * (long) (PIECE / (BS - 16) * BS + (64 << 10)) + (1 << 20);
        long grown = settledGrowth(before, bound);
        measured.countDown();
        for (Future<byte[]> f : got) {
          assertThat(f.get()).isEqualTo(content);
        }
        assertThat(grown).as("direct memory kept after %d threads streamed (bound %d)", threads, bound)
            .isLessThanOrEqualTo(bound);
        assertThat(FileStreamer.rawBuffersKept()).isLessThanOrEqualTo(FileStreamer.RAW_KEPT);
      } finally {
        measured.countDown();
        pool.shutdownNow();
      }
    }
  }

  /** Growth of direct memory since {@code before}, once buffers nobody holds have been collected. */
  private static long settledGrowth(long before, long bound) throws InterruptedException {
    long grown = directMemoryUsed() - before;
    for (int i = 0; i < 40 && grown > bound; i++) {
      System.gc();
      Thread.sleep(50);
      grown = directMemoryUsed() - before;
    }
    return grown;
  }

  private static long directMemoryUsed() {
    return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
        .filter(b -> b.getName().equals("direct")).mapToLong(BufferPoolMXBean::getMemoryUsed).sum();
  }
}
