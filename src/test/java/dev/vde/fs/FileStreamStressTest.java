package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Several streams of multi-piece files at once, more than there are helper threads or pooled buffers, while a
 * writer replaces some of the files being streamed: sinks that take every byte, sinks that dawdle, sinks that
 * throw part way, callers interrupted by their own sink or from outside at any moment. Every stream that ends
 * normally gave exactly one whole version of its file; every stream that failed did so with its own sink's
 * exception or an interrupt, after only bytes that are the start of a version. Afterwards no read pin, piece
 * buffer or busy helper is left, and the volume is clean.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FileStreamStressTest {
  private static final int BS = 4096;
  /** File bytes in one piece on a 4 KiB-block volume. */
  private static final int PIECE = FileStreamer.PIECE_BYTES / BS * (BS - 16);
  private static final int READERS = 4;
  private static final int STREAMS_PER_READER = 6;
  private static final int REPLACEMENTS = 8;

  /** A file's versions, by size (each version of a file has a size of its own). */
  private final Map<String, List<byte[]>> versions = new ConcurrentHashMap<>();
  private final ConcurrentLinkedQueue<Throwable> problems = new ConcurrentLinkedQueue<>();
  /** The reader thread that the interrupter may interrupt now, if any; guarded by itself. */
  private final Thread[] target = new Thread[1];

  @Test
  void concurrentStreams_withFailingSlowAndInterruptedSinks_whileFilesAreReplaced() throws Exception {
    long seed = 20261205L;
    try (VirtualDisk d = VirtualDisk.create(new PowerLossDevice("stream-stress"),
        CreateOptions.ofSize(256L << 20).blockSize(BS))) {
      String[] stable = {"/s0", "/s1", "/s2"};
      int[] stableSizes = {5 * PIECE / 2 + 17, 3 * PIECE + PIECE / 3, 3 * PIECE / 2 + 4000};
      for (int i = 0; i < stable.length; i++) {
        publish(d, stable[i], SeededBytes.bytes(100 + i, stableSizes[i]));
      }
      String[] replaced = {"/r0", "/r1"};
      for (int i = 0; i < replaced.length; i++) {
        publish(d, replaced[i], SeededBytes.bytes(200 + i, 2 * PIECE + 100 * i + 1));
      }
      String[] all = {"/s0", "/s1", "/s2", "/r0", "/r1"};
      AtomicInteger readersLeft = new AtomicInteger(READERS);
      int[] outcomes = new int[3]; // whole, failed by the sink, interrupted
      ExecutorService threads = Executors.newFixedThreadPool(READERS + 2);
      List<Future<?>> jobs = new ArrayList<>();
      try {
        for (int r = 0; r < READERS; r++) {
          int reader = r;
          jobs.add(threads.submit(() -> {
            try {
              SplittableRandom rnd = new SplittableRandom(seed + reader);
              for (int k = 0; k < STREAMS_PER_READER; k++) {
                String path = all[rnd.nextInt(all.length)];
                int outcome = streamOnce(d, path, (reader + k) % 5, rnd);
                synchronized (outcomes) {
                  outcomes[outcome]++;
                }
              }
            } catch (Throwable t) {
              problems.add(t);
            } finally {
              readersLeft.decrementAndGet();
            }
          }));
        }
        jobs.add(threads.submit(() -> {
          try {
            for (int v = 1; v <= REPLACEMENTS && readersLeft.get() > 0; v++) {
              String path = replaced[v % replaced.length];
              publish(d, path, SeededBytes.bytes(300 + v, 2 * PIECE + 1000 * v + (v % 3) * PIECE / 2));
            }
          } catch (Throwable t) {
            problems.add(t);
          }
        }));
        jobs.add(threads.submit(() -> {
          SplittableRandom rnd = new SplittableRandom(seed - 1);
          try {
            while (readersLeft.get() > 0) {
              Thread.sleep(rnd.nextInt(1, 15));
              synchronized (target) {
                if (target[0] != null) {
                  target[0].interrupt();
                }
              }
            }
          } catch (Throwable t) {
            problems.add(t);
          }
        }));
        for (Future<?> job : jobs) {
          job.get(100, TimeUnit.SECONDS);
        }
      } finally {
        threads.shutdownNow();
        assertThat(threads.awaitTermination(10, TimeUnit.SECONDS)).as("every reader and the writer ended").isTrue();
      }
      assertThat(problems).isEmpty();
      assertThat(outcomes[0]).as("streams that gave a whole file").isPositive();
      assertThat(outcomes[1]).as("streams whose sink threw").isPositive();
      assertThat(outcomes[2]).as("streams interrupted").isPositive();
      // Nothing left behind: pins, buffers, helpers still at work.
      assertThat(d.volume().readPinCount()).isZero();
      assertThat(FileStreamer.buffersOut()).isZero();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      List<Thread> busy = busyHelpers();
      while (!busy.isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(10);
        busy = busyHelpers();
      }
      assertThat(busy).as("helper threads still at work").isEmpty();
      for (String path : all) {
        byte[] now = d.readFile(path);
        assertThat(versions.get(path).stream().anyMatch(v -> Arrays.equals(v, now))).as(path).isTrue();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        d.readFile(path, out);
        assertThat(out.toByteArray()).isEqualTo(now);
      }
      TestVolumes.assertClean(d.verify(Progress.NONE), "after the concurrent streams");
    }
  }

  /** Writes {@code data} as the new content of {@code path}, known as one of its versions before it is. */
  private void publish(VirtualDisk d, String path, byte[] data) throws IOException {
    versions.computeIfAbsent(path, p -> new CopyOnWriteArrayList<>()).add(data);
    d.writeFile(path, data);
  }

  /**
   * Streams {@code path} once through a sink of the given kind; returns 0 when the stream gave a whole version,
   * 1 when it failed with its sink's exception, 2 when it was interrupted.
   */
  private int streamOnce(VirtualDisk d, String path, int kind, SplittableRandom rnd) throws Exception {
    int failAt = rnd.nextInt(4);
    int sleepMs = 1 + rnd.nextInt(4);
    IOException refusal = new IOException("the sink refuses write " + failAt);
    AtomicInteger writes = new AtomicInteger();
    ByteArrayOutputStream sink = new ByteArrayOutputStream() {
      @Override
      public synchronized void write(byte[] b, int off, int len) {
        int n = writes.getAndIncrement();
        if (kind == 1 || kind == 4) {
          // Dawdles before taking the bytes: the buffer must stay as it is meanwhile.
          try {
            Thread.sleep(sleepMs);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        super.write(b, off, len);
        if (kind == 3 && n == failAt) {
          Thread.currentThread().interrupt();
        }
      }
    };
    java.io.OutputStream out = kind != 2 ? sink : new java.io.OutputStream() {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        if (writes.get() == failAt) {
          throw refusal;
        }
        sink.write(b, off, len);
      }
    };
    if (kind == 4) {
      synchronized (target) {
        target[0] = Thread.currentThread();
      }
    }
    Throwable failed = null;
    long n = -1;
    try {
      n = d.readFile(path, out);
    } catch (Throwable t) {
      failed = t;
    } finally {
      synchronized (target) {
        target[0] = null;
      }
    }
    boolean interrupted = Thread.interrupted();
    byte[] got = sink.toByteArray();
    List<byte[]> known = versions.get(path);
    String what = path + " through sink kind " + kind;
    if (failed == null) {
      assertThat(n).as(what).isEqualTo(got.length);
      assertThat(known.stream().anyMatch(v -> Arrays.equals(v, got))).as(what + ": a whole version").isTrue();
      return 0;
    }
    // What went out before the failure is the start of a version: never bytes of a piece not yet checked.
    assertThat(known.stream().anyMatch(v -> v.length > got.length
        && Arrays.equals(v, 0, got.length, got, 0, got.length))).as(what + ": the start of a version").isTrue();
    if (kind == 2 && failed == refusal) {
      return 1;
    }
    if ((kind == 3 || kind == 4) && failed instanceof InterruptedIOException) {
      assertThat(interrupted).as(what + ": the interrupt status is kept").isTrue();
      return 2;
    }
    throw new AssertionError(what + " failed otherwise", failed);
  }

  /** The helper threads that are not idle in their pool. */
  private static List<Thread> busyHelpers() {
    List<Thread> busy = new ArrayList<>();
    for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
      Thread t = e.getKey();
      if (t.getName().equals("vde-stream") && t.getState() != Thread.State.WAITING) {
        busy.add(t);
      }
    }
    return busy;
  }
}
