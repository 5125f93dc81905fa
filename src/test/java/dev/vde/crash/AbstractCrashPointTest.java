package dev.vde.crash;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.fs.FileStat;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.FsModel;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The default-run crash sweep for one block size: every write of the workload is a crash point. Every point is
 * recovered with all unsynced writes lost (NONE), and with ALL plus one seeded RANDOM_SUBSET, TORN and two
 * RANDOM_BLOCKS (the blocks, or 512-byte sectors, of one multi-block write landing independently); every write
 * of the recovery that follows is a second crash point; the overwrite and batch steps, whose atomicity is the
 * subtle part, get every policy at every point. The full cross-product is {@link CrashPointExhaustiveTest}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class AbstractCrashPointTest {
  /** Extra random-blocks seeds per crash point inside the overwrite and batch steps. */
  private static final int EXTRA_BLOCK_SEEDS = 32;

  private CrashHarness harness;

  abstract int blockSize();

  @BeforeAll
  void profileTheWorkload() throws IOException {
    harness = new CrashHarness(new Workload(blockSize()));
  }

  @Test
  void uninterruptedWorkload_buildsTheModelTree_andFragmentsAFilePastEightExtents() throws IOException {
    Workload w = harness.workload;
    PowerLossDevice dev = new PowerLossDevice();
    VirtualDisk disk = null;
    int close = w.size() - 1;
    for (int s = 0; s < close; s++) {
      disk = harness.runStep(s, dev, disk);
    }
    FileStat frag = disk.stat(Workload.FRAGMENTED);
    assertThat(frag.extentCount()).as("extents of %s; the workload must exercise indirect XTNT blocks",
        Workload.FRAGMENTED).isGreaterThan(8);
    assertThat(FsModel.readFrom(disk).diff(w.modelAfter(close - 1))).as("tree before close").isEmpty();
    TestVolumes.assertClean(disk.verify(Progress.NONE), "after the uninterrupted workload");
    try (TestVolumes.Volume reopened = TestVolumes.closeAndVerify(new TestVolumes.Volume(dev, disk))) {
      assertThat(FsModel.readFrom(reopened.disk()).diff(w.modelAfter(close))).as("tree after reopen").isEmpty();
    }
  }

  @Test
  void everyOperation_issuesAtLeastOneWrite_soEveryStepHasCrashPoints() {
    Workload w = harness.workload;
    List<String> silent = new ArrayList<>();
    for (int s = 0; s < w.size(); s++) {
      Workload.Kind k = w.step(s).kind();
      if (k != Workload.Kind.CLOSE && harness.endWriteOf(s) == harness.firstWriteOf(s)) {
        silent.add(w.step(s).name());
      }
    }
    assertThat(silent).as("steps that wrote nothing cannot have been made durable").isEmpty();
  }

  @Test
  void everyAcknowledgedOperationSurvives_atEveryCrashPoint_whenUnsyncedWritesAreLost() {
    Failures f = new Failures();
    for (long i = 0; i < harness.totalWrites(); i++) {
      CrashHarness.CutRun run = harness.runWithCut(i);
      f.addAll(harness.check(run, KeepPolicy.NONE, true));
    }
    assertThat(f.cases()).isEqualTo(harness.totalWrites());
    f.assertNone("bs=" + blockSize() + " policy NONE at every crash point");
  }

  @Test
  void everyAcknowledgedOperationSurvives_atEveryCrashPoint_withSampledReorderingAndTearing() {
    Failures f = new Failures();
    for (long i = 0; i < harness.totalWrites(); i++) {
      CrashHarness.CutRun run = harness.runWithCut(i);
      long seed = harness.seedFor(i, 1);
      for (KeepPolicy policy : List.of(KeepPolicy.ALL, KeepPolicy.randomSubset(seed), harness.seededTorn(run, seed),
          KeepPolicy.randomBlocks(blockSize(), seed), KeepPolicy.randomBlocks(512, seed + 1))) {
        f.addAll(harness.check(run, policy, true));
      }
    }
    f.assertNone("bs=" + blockSize() + " sampled ALL/RANDOM_SUBSET/TORN/RANDOM_BLOCKS at every crash point");
  }

  @Test
  void recoveryItself_survivesASecondCrash_atEveryWriteOfRecovery() {
    Failures f = new Failures();
    for (long i = 0; i < harness.totalWrites(); i++) {
      CrashHarness.CutRun run = harness.runWithCut(i);
      long index = i;
      f.addAll(harness.checkCrashDuringRecovery(run, KeepPolicy.NONE, k -> {
        long seed = harness.seedFor(index, 1000 + k.intValue());
        return switch ((int) ((index + k) % 3)) {
          case 0 -> KeepPolicy.NONE;
          case 1 -> KeepPolicy.randomBlocks(blockSize(), seed);
          default -> KeepPolicy.ALL;
        };
      }));
    }
    f.assertNone("bs=" + blockSize() + " second crash during recovery");
  }

  @Test
  void overwrite_isAllOldOrAllNew_atEveryCrashPoint() {
    sweepStepWithEveryPolicy(harness.workload.overwriteStep());
  }

  @Test
  void batch_isAllOrNothing_atEveryCrashPoint() {
    Workload w = harness.workload;
    int batch = -1;
    for (int s = 0; s < w.size(); s++) {
      if (w.step(s).kind() == Workload.Kind.BATCH) {
        batch = s;
      }
    }
    assertThat(batch).as("the workload has a batch step").isPositive();
    sweepStepWithEveryPolicy(batch);
  }

  /** Every crash point inside one step under every policy of {@link CrashPointExhaustiveTest#allPolicies}. */
  private void sweepStepWithEveryPolicy(int step) {
    Failures f = new Failures();
    long from = harness.firstWriteOf(step);
    long to = harness.endWriteOf(step);
    assertThat(to).as("step %d writes something", step).isGreaterThan(from);
    for (long i = from; i < to; i++) {
      CrashHarness.CutRun run = harness.runWithCut(i);
      List<KeepPolicy> policies =
          new ArrayList<>(CrashPointExhaustiveTest.allPolicies(harness, run, Integer.MAX_VALUE));
      // The commit must not land without the blocks it covers: many block- and sector-granular subsets of the
      // step's multi-block writes probe exactly that.
      for (int v = 0; v < EXTRA_BLOCK_SEEDS; v++) {
        policies.add(KeepPolicy.randomBlocks(blockSize(), harness.seedFor(i, 300 + v)));
        policies.add(KeepPolicy.randomBlocks(512, harness.seedFor(i, 400 + v)));
      }
      for (KeepPolicy p : policies) {
        f.addAll(harness.check(run, p, false));
      }
    }
    f.assertNone("bs=" + blockSize() + " every policy inside step " + step + " '" + harness.workload.step(step).name()
        + "'");
  }
}
