package dev.vde.alloc;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * Every search of {@link FreeSpaceScanner} against a bit-by-bit model of the same bitmap: words of all kinds
 * (empty, full, random, sparse, runs crossing word boundaries), limits that end inside a word, starts anywhere.
 */
class FreeSpaceScannerPropertyTest {

  record Case(long[] words, long limit, long from, long count) {}

  @Provide
  Arbitrary<Case> cases() {
    Arbitrary<Long> word = Arbitraries.oneOf(
        Arbitraries.just(0L), Arbitraries.just(-1L), Arbitraries.longs(),
        // Sparse and dense: long runs inside a word, both ways.
        Arbitraries.integers().between(0, 63).list().ofMaxSize(3).map(bits -> {
          long w = 0;
          for (int b : bits) {
            w |= 1L << b;
          }
          return w;
        }),
        Arbitraries.integers().between(0, 63).list().ofMaxSize(3).map(bits -> {
          long w = -1L;
          for (int b : bits) {
            w &= ~(1L << b);
          }
          return w;
        }));
    return word.list().ofMinSize(1).ofMaxSize(24).flatMap(ws -> {
      long[] words = ws.stream().mapToLong(Long::longValue).toArray();
      long bits = (long) words.length << 6;
      Arbitrary<Long> limit = Arbitraries.longs().between(1, bits);
      return limit.flatMap(l -> Combinators.combine(
          Arbitraries.longs().between(0, l + 3), Arbitraries.longs().between(0, 200))
          .as((from, count) -> new Case(words, l, from, count)));
    });
  }

  @Property(tries = 3000)
  void firstFreeRunIsTheFirstFit(@ForAll("cases") Case c) {
    assertThat(FreeSpaceScanner.firstFreeRun(c.words(), c.limit(), c.count(), c.from()))
        .as("first run of %d clear bits from %d below %d", c.count(), c.from(), c.limit())
        .isEqualTo(modelFirstFit(c.words(), c.limit(), c.count(), c.from()));
  }

  @Property(tries = 3000)
  void largestFreeRunIsTheLongest(@ForAll("cases") Case c) {
    long best = 0;
    for (long[] r : modelRuns(c.words(), c.limit(), false)) {
      best = Math.max(best, r[1]);
    }
    assertThat(FreeSpaceScanner.largestFreeRun(c.words(), c.limit())).isEqualTo(best);
  }

  @Property(tries = 1000)
  void runWalksAndCountsMatchTheModel(@ForAll("cases") Case c) {
    List<long[]> free = new ArrayList<>();
    FreeSpaceScanner.freeRuns(c.words(), 0, c.limit(), (s, n) -> free.add(new long[] {s, n}));
    List<long[]> used = new ArrayList<>();
    FreeSpaceScanner.allocatedRuns(c.words(), 0, c.limit(), (s, n) -> used.add(new long[] {s, n}));
    assertThat(free).containsExactlyElementsOf(modelRuns(c.words(), c.limit(), false));
    assertThat(used).containsExactlyElementsOf(modelRuns(c.words(), c.limit(), true));
    long clear = free.stream().mapToLong(r -> r[1]).sum();
    assertThat(FreeSpaceScanner.countFree(c.words(), c.limit())).isEqualTo(clear);
  }

  @Test
  void sixtyThreeClearBitsAtTheTopOfTheLastWordAreARun() {
    long[] words = {-1L, 1L};
    assertThat(FreeSpaceScanner.firstFreeRun(words, 128, 63, 0)).isEqualTo(65);
    assertThat(FreeSpaceScanner.largestFreeRun(words, 128)).isEqualTo(63);
  }

  private static long modelFirstFit(long[] words, long limit, long count, long from) {
    if (from >= limit) {
      return -1;
    }
    long run = 0;
    for (long b = from; b < limit; b++) {
      if (isSet(words, b)) {
        run = 0;
        continue;
      }
      run++;
      if (run >= Math.max(1, count)) {
        return b - run + 1;
      }
    }
    return -1;
  }

  private static List<long[]> modelRuns(long[] words, long limit, boolean set) {
    List<long[]> runs = new ArrayList<>();
    long start = -1;
    for (long b = 0; b <= limit; b++) {
      boolean in = b < limit && isSet(words, b) == set;
      if (in && start < 0) {
        start = b;
      } else if (!in && start >= 0) {
        runs.add(new long[] {start, b - start});
        start = -1;
      }
    }
    return runs;
  }

  private static boolean isSet(long[] words, long b) {
    return (words[(int) (b >>> 6)] & (1L << (b & 63))) != 0;
  }
}
