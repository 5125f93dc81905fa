package dev.vde.bench.jmh;

import dev.vde.alloc.FreeSpaceScanner;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Scans of a 32 MiB allocation bitmap (2^28 bits: 1 TiB of 4 KiB blocks) whose only free run of 256 blocks or
 * more is its last 64 Ki blocks, so a first-fit search for 256 blocks walks the whole bitmap. Patterns before that
 * tail: {@code full} (everything allocated), {@code fragmented} (allocated and free runs of 1 to 255 blocks, about
 * two million runs) and {@code random} (every bit a coin toss: tens of millions of runs of a few blocks, a worst
 * case no allocator produces in practice).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class BitmapScanBenchmark {
  static final long BITS = 1L << 28;
  static final int TAIL_WORDS = 1024;

  @Param({"full", "fragmented", "random"})
  public String pattern;

  private long[] words;

  @Setup
  public void setup() {
    words = build(pattern);
  }

  static long[] build(String pattern) {
    int n = (int) (BITS >>> 6);
    long[] w = new long[n];
    int body = n - TAIL_WORDS;
    SplittableRandom r = new SplittableRandom(3);
    switch (pattern) {
      case "full" -> java.util.Arrays.fill(w, 0, body, -1L);
      case "random" -> {
        for (int i = 0; i < body; i++) {
          w[i] = r.nextLong();
        }
      }
      case "fragmented" -> {
        long end = (long) body << 6;
        long p = 0;
        boolean allocated = true;
        while (p < end) {
          long len = Math.min(end - p, 1 + r.nextInt(255));
          if (allocated) {
            FreeSpaceScanner.setRange(w, p, len, true);
          }
          p += len;
          allocated = !allocated;
        }
      }
      default -> throw new IllegalArgumentException(pattern);
    }
    return w;
  }

  @Benchmark
  public long firstFreeRun256() {
    return FreeSpaceScanner.firstFreeRun(words, BITS, 256, 0);
  }

  @Benchmark
  public long countFree() {
    return FreeSpaceScanner.countFree(words, BITS);
  }
}
