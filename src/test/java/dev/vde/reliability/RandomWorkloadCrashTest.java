package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.reliability.CrashCampaign.Model;
import dev.vde.reliability.Script.Kind;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import java.io.IOException;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The campaign over seeded random workloads ({@link RandomWorkload}) on larger volumes (8 MiB with 512-byte
 * blocks, 16 MiB with 4096), where the scripts run long enough that an exhaustive sweep per seed is too slow for
 * the default run: crash indices are sampled, stratified so that every module-management step gets at least one
 * cut, the rest uniform, each under a randomly chosen crash model.
 *
 * <p>Workload {@code w} uses seed {@code vde.reliability.seed + w}; every failure names its workload seed, and
 * {@code -Dvde.reliability.seed=<that seed> -Dvde.reliability.workloads=1} replays exactly that workload.
 * {@code -Dvde.reliability.samples=N} changes the number of uniform samples per workload.
 * {@code -Dvde.reliability.content=degenerate} gives the workloads zero, repeated and reused contents
 * ({@link RandomWorkload#DEGENERATE}) and {@code -Dvde.reliability.loseOne=true} adds the lose-one-block policy
 * to the subset model ({@link CrashCampaign#LOSE_ONE}); both are off by default, and the seeds then replay as before.
 * Besides, every default run has {@link #DEGENERATE_WORKLOADS} workloads with degenerate content of their own.
 */
class RandomWorkloadCrashTest {
  static final long SEED = Long.getLong("vde.reliability.seed", 0x5EED_2025L);
  static final int WORKLOADS = Integer.getInteger("vde.reliability.workloads", 10);
  static final int SAMPLES = Integer.getInteger("vde.reliability.samples", 80);
  /** Workloads with degenerate content in every default run, next to {@link #WORKLOADS} with the chosen content. */
  static final int DEGENERATE_WORKLOADS = Integer.getInteger("vde.reliability.degenerateWorkloads", 3);
  /** Keeps the degenerate workloads' seeds apart from the main run's and the exhaustive run's. */
  static final long DEGENERATE_SEED_OFFSET = 5000;
  /** File operations per random script. */
  static final int FILE_OPS = 60;
  /** Workloads per block size in the exhaustive run, every index under every model. */
  static final int EXHAUSTIVE_WORKLOADS = Integer.getInteger("vde.reliability.exhaustiveWorkloads", 10);

  static long sizeFor(int blockSize) {
    return blockSize == 512 ? 8L << 20 : 16L << 20;
  }

  static CrashCampaign campaign(long seed, int blockSize) throws IOException {
    return campaign(seed, blockSize, RandomWorkload.DEGENERATE);
  }

  static CrashCampaign campaign(long seed, int blockSize, boolean degenerate) throws IOException {
    Script script = RandomWorkload.build(seed, blockSize, sizeFor(blockSize), FILE_OPS, degenerate);
    String label = "random workload seed=" + seed + " bs=" + blockSize + (degenerate ? " degenerate content" : "")
        + " (replay with -Dvde.reliability.seed=" + seed + " -Dvde.reliability.workloads=1"
        + (degenerate ? " -Dvde.reliability.content=degenerate" : "") + ")";
    assertThat(CrashCampaign.uninterruptedProblems(script)).as(label + ": the script's models must describe what an "
        + "uninterrupted run does; script:\n" + script).isEmpty();
    return new CrashCampaign(script, label);
  }

  @ParameterizedTest(name = "bs={0}")
  @ValueSource(ints = {512, 4096})
  void seededRandomWorkloads_recoverAndContinue_atSampledCrashIndices(int blockSize) throws IOException {
    sampled(blockSize, SEED, WORKLOADS, RandomWorkload.DEGENERATE);
  }

  /**
   * A few workloads with degenerate content in every default run, whatever {@code vde.reliability.content} says:
   * stale blocks that look like the ones that replaced them are what found defects 6 and 11, and a run with
   * only distinct random bytes cannot see that kind of mistake again. Their seeds are apart from the main run's.
   */
  @ParameterizedTest(name = "bs={0}")
  @ValueSource(ints = {512, 4096})
  void seededRandomWorkloadsWithDegenerateContent_recoverAndContinue_atSampledCrashIndices(int blockSize)
      throws IOException {
    sampled(blockSize, SEED + DEGENERATE_SEED_OFFSET, DEGENERATE_WORKLOADS, true);
  }

  private static void sampled(int blockSize, long baseSeed, int workloads, boolean degenerate) throws IOException {
    System.out.printf("[reliability] random workloads bs=%d: base seed %d (-Dvde.reliability.seed), %d workload(s), "
        + "%s content, lose-one %s%n", blockSize, baseSeed, workloads, degenerate ? "degenerate" : "random",
        CrashCampaign.LOSE_ONE ? "on" : "off");
    Findings f = new Findings("random workloads bs=" + blockSize + " base seed " + baseSeed
        + (degenerate ? " degenerate content" : ""));
    for (int w = 0; w < workloads; w++) {
      long seed = baseSeed + w;
      CrashCampaign c = campaign(seed, blockSize, degenerate);
      SplittableRandom rnd = new SplittableRandom(seed ^ blockSize);
      TreeSet<Long> indices = new TreeSet<>();
      for (int s = 0; s < c.script.size(); s++) {
        Kind k = c.script.step(s).kind();
        boolean moduleStep = k == Kind.MIGRATE || k == Kind.RESUME || k == Kind.ROLLBACK || k == Kind.COPY;
        if (moduleStep && c.endWriteOf(s) > c.firstWriteOf(s)) {
          indices.add(c.firstWriteOf(s) + rnd.nextLong(c.endWriteOf(s) - c.firstWriteOf(s)));
        }
      }
      for (int i = 0; i < SAMPLES; i++) {
        indices.add(rnd.nextLong(c.totalWrites()));
      }
      for (long v : indices) {
        Model m = Model.values()[rnd.nextInt(Model.values().length)];
        c.checkIndex(v, List.of(m), seed, f);
      }
      System.out.printf("[reliability]   workload seed %d: %d steps, %,d crash points, %d sampled%n", seed,
          c.script.size(), c.totalWrites(), indices.size());
    }
    f.report("crash states", (long) workloads * SAMPLES / 2);
  }

  @Tag("crash-exhaustive")
  @ParameterizedTest(name = "bs={0}")
  @ValueSource(ints = {512, 4096})
  void seededRandomWorkloads_recoverAndContinue_atEveryCrashIndex_underEveryModel(int blockSize)
      throws IOException {
    Findings f = new Findings("random workloads bs=" + blockSize + " exhaustive, base seed " + SEED);
    long points = 0;
    for (int w = 0; w < EXHAUSTIVE_WORKLOADS; w++) {
      long seed = SEED + 1000 + w;
      CrashCampaign c = campaign(seed, blockSize);
      points += c.totalWrites();
      for (long v = 0; v < c.totalWrites(); v++) {
        CrashCampaign.CutRun run = c.runWithCut(v);
        for (Model m : Model.values()) {
          KeepPolicy p = c.policy(m, run, CrashCampaign.mix(seed, v, m.ordinal()));
          if (p != null) {
            f.add(c.check(run, p));
          }
        }
      }
    }
    f.report("crash states", 2 * points);
  }
}
