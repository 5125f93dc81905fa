package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.vde.Progress;
import dev.vde.testing.SeededBytes;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code writeFile(path, InputStream)} buffers up to 1,024 blocks of payload before it stages the rest; a stream
 * shorter than that costs a buffer of its own size, not of the most it could take: at 64 KiB blocks that most is
 * 64 MiB, which every small upload allocated, so a few at once filled a modest heap.
 */
class StreamBufferTest {
  @TempDir
  Path tmp;

  /** Bytes the calling thread allocates while {@code r} runs, where the JVM counts them (HotSpot does). */
  private static long allocatedBy(ThrowingRunnable r) throws Exception {
    java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    assumeThat(mx).isInstanceOf(com.sun.management.ThreadMXBean.class);
    com.sun.management.ThreadMXBean hs = (com.sun.management.ThreadMXBean) mx;
    assumeThat(hs.isThreadAllocatedMemorySupported() && hs.isThreadAllocatedMemoryEnabled()).isTrue();
    long id = Thread.currentThread().getId();
    long before = hs.getThreadAllocatedBytes(id);
    r.run();
    return hs.getThreadAllocatedBytes(id) - before;
  }

  private interface ThrowingRunnable {
    void run() throws Exception;
  }

  @Test
  void aSmallStreamAt64KiBBlocksAllocatesAboutWhatItHolds() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(tmp.resolve("big-blocks.vde"),
        CreateOptions.ofSize(16L << 20).blockSize(65536))) {
      byte[] small = SeededBytes.bytes(1, 1000);
      // Once first, so that class loading and the journal's first buffers are not counted.
      d.writeFile("/warm-up", new ByteArrayInputStream(small));
      long allocated = allocatedBy(() -> d.writeFile("/small", new ByteArrayInputStream(small)));
      assertThat(allocated).as("bytes allocated to write a 1000-byte stream").isLessThan(8L << 20);
      assertThat(d.readFile("/small")).isEqualTo(small);
      long empty = allocatedBy(() -> d.writeFile("/empty", InputStream.nullInputStream()));
      assertThat(empty).as("bytes allocated to write an empty stream").isLessThan(8L << 20);
      assertThat(d.readFile("/empty")).isEmpty();
    }
  }

  @ParameterizedTest(name = "blockSize={0}")
  @ValueSource(ints = {512, 4096, 65536})
  void streamsAroundTheBufferedSizeArriveWhole(int bs) throws Exception {
    int buffered = 1024 * (bs - 16);
    Path file = tmp.resolve("around.vde");
    try (VirtualDisk d = VirtualDisk.create(file, CreateOptions.ofSize(bs == 65536 ? 512L << 20 : 64L << 20)
        .blockSize(bs))) {
      for (int size : new int[] {0, 1, 65535, 65536, 65537, buffered - 1, buffered, buffered + 1, 2 * buffered + 3}) {
        byte[] data = SeededBytes.bytes(size, size);
        // A stream that hands out at most 1,000 bytes per read, as a socket might.
        ByteArrayInputStream source = new ByteArrayInputStream(data);
        InputStream trickle = new InputStream() {
          @Override
          public int read() {
            return source.read();
          }

          @Override
          public int read(byte[] b, int off, int len) {
            return source.read(b, off, Math.min(len, 1000));
          }
        };
        assertThat(d.writeFile("/f", trickle)).isEqualTo(size);
        assertThat(d.readFile("/f")).as("a stream of %d bytes", size).isEqualTo(data);
      }
      assertThat(d.verify(Progress.NONE).problems()).isEmpty();
    }
  }
}
