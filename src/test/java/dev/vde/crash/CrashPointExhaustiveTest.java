package dev.vde.crash;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.testing.PowerLossDevice.KeepPolicy;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The full cross-product: every crash point of the workload with every policy (NONE, ALL, two random subsets,
 * block- and sector-granular random subsets, PREFIX of every length and a tear of every pending write, the last
 * two capped at {@link #CAP} seeded choices when a crash point has more pending writes); and a second crash at
 * every write of the recovery under pairs of policies. Excluded from the default run; {@code mvn test -Pcrash} runs it.
 */
@Tag("crash-exhaustive")
class CrashPointExhaustiveTest {
  /** Most PREFIX and TORN variants per crash point; beyond it the variants are a seeded sample. */
  static final int CAP = 24;
  /** Seeds per crash point for each of the block- and sector-granular random subsets. */
  static final int RANDOM_BLOCK_SEEDS = 4;

  @ParameterizedTest(name = "blockSize={0}")
  @ValueSource(ints = {4096, 512})
  void everyAcknowledgedOperationSurvives_atEveryCrashPoint_underEveryPolicy(int blockSize) throws IOException {
    CrashHarness harness = new CrashHarness(new Workload(blockSize));
    Failures f = new Failures();
    for (long i = 0; i < harness.totalWrites(); i++) {
      CrashHarness.CutRun run = harness.runWithCut(i);
      for (KeepPolicy p : allPolicies(harness, run, CAP)) {
        f.addAll(harness.check(run, p, true));
      }
    }
    assertThat(f.cases()).isGreaterThanOrEqualTo((int) harness.totalWrites() * 4);
    f.assertNone("bs=" + blockSize + " exhaustive");
  }

  @ParameterizedTest(name = "blockSize={0}")
  @ValueSource(ints = {4096, 512})
  void recoveryItself_survivesASecondCrash_underEveryPolicyPair(int blockSize) throws IOException {
    CrashHarness harness = new CrashHarness(new Workload(blockSize));
    Failures f = new Failures();
    for (long i = 0; i < harness.totalWrites(); i++) {
      CrashHarness.CutRun run = harness.runWithCut(i);
      long index = i;
      for (KeepPolicy first : List.of(KeepPolicy.NONE, KeepPolicy.ALL,
          KeepPolicy.randomBlocks(blockSize, harness.seedFor(i, 8)))) {
        for (int variant = 0; variant < 4; variant++) {
          int v = variant;
          f.addAll(harness.checkCrashDuringRecovery(run, first, k -> {
            long seed = harness.seedFor(index, 2000 + 64 * v + k.intValue());
            return switch (v) {
              case 0 -> KeepPolicy.NONE;
              case 1 -> KeepPolicy.ALL;
              case 2 -> KeepPolicy.randomBlocks(blockSize, seed);
              default -> KeepPolicy.randomBlocks(512, seed);
            };
          }));
        }
      }
    }
    f.assertNone("bs=" + blockSize + " exhaustive second crash during recovery");
  }

  /**
   * NONE, ALL, two random subsets, {@link #RANDOM_BLOCK_SEEDS} RANDOM_BLOCKS of the block size and of 512 bytes,
   * PREFIX(k) for 0 < k < pending and TORN(j) for every pending j (capped).
   */
  static List<KeepPolicy> allPolicies(CrashHarness h, CrashHarness.CutRun run, int cap) {
    List<KeepPolicy> ps = new ArrayList<>();
    ps.add(KeepPolicy.NONE);
    ps.add(KeepPolicy.ALL);
    ps.add(KeepPolicy.randomSubset(h.seedFor(run.crashIndex, 2)));
    ps.add(KeepPolicy.randomSubset(h.seedFor(run.crashIndex, 3)));
    for (int v = 0; v < RANDOM_BLOCK_SEEDS; v++) {
      ps.add(KeepPolicy.randomBlocks(h.workload.blockSize, h.seedFor(run.crashIndex, 10 + v)));
      // 512-byte pieces inside larger blocks: sectors of one block landing independently.
      ps.add(KeepPolicy.randomBlocks(512, h.seedFor(run.crashIndex, 50 + v)));
    }
    int pending = run.device.pendingWriteCount();
    SplittableRandom pick = new SplittableRandom(h.seedFor(run.crashIndex, 4));
    for (int k : sample(1, pending, cap, pick)) {
      ps.add(KeepPolicy.prefix(k));
    }
    for (int j : sample(0, pending, cap, pick)) {
      ps.add(KeepPolicy.torn(j, h.seedFor(run.crashIndex, 100 + j)));
    }
    return ps;
  }

  /** Every int in [from, to) when there are at most {@code cap}, else {@code cap} distinct seeded ones. */
  private static List<Integer> sample(int from, int to, int cap, SplittableRandom rnd) {
    List<Integer> all = new ArrayList<>();
    for (int i = from; i < to; i++) {
      all.add(i);
    }
    if (all.size() <= cap) {
      return all;
    }
    for (int i = 0; i < cap; i++) {
      int j = i + rnd.nextInt(all.size() - i);
      Integer t = all.get(i);
      all.set(i, all.get(j));
      all.set(j, t);
    }
    return all.subList(0, cap);
  }
}
