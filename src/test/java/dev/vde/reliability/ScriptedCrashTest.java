package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.reliability.CrashCampaign.Model;
import dev.vde.reliability.Script.Kind;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The scripted crash campaign on small volumes (512- and 4096-byte blocks): a cut at every write of
 * {@link ScriptedWorkload}, recovered and continued by {@link CrashCampaign}.
 *
 * <p>Default run: every crash index under all three crash models (lose unsynced; keep a seeded subset of writes,
 * blocks or sectors; tear one write), the last two with {@value #DEFAULT_SEEDS} seeds each. The
 * {@code crash-exhaustive} tag uses {@value #EXHAUSTIVE_SEEDS} seeds and adds PREFIX(k) for every k and a tear of
 * every pending write. Seeds derive from {@code -Dvde.reliability.seed}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ScriptedCrashTest {
  static final long SEED = Long.getLong("vde.reliability.seed", 0x5EED_2025L);
  /** Seeds per model and index in the exhaustive run. */
  private static final int EXHAUSTIVE_SEEDS = 4;
  /** Seeds per model and index in the default run. */
  private static final int DEFAULT_SEEDS = 2;

  private final Map<Integer, CrashCampaign> campaigns = new TreeMap<>();

  private CrashCampaign campaign(int blockSize) throws IOException {
    CrashCampaign c = campaigns.get(blockSize);
    if (c == null) {
      c = new CrashCampaign(ScriptedWorkload.build(blockSize), "scripted bs=" + blockSize + " seed=" + SEED
          + " (replay with -Dvde.reliability.seed=" + SEED + ")");
      campaigns.put(blockSize, c);
    }
    return c;
  }

  @ParameterizedTest(name = "bs={0}")
  @ValueSource(ints = {512, 4096})
  void uninterruptedScript_reachesTheModelOfEveryStep_andEndsClean(int blockSize) throws IOException {
    assertThat(CrashCampaign.uninterruptedProblems(ScriptedWorkload.build(blockSize)))
        .as("the script's models must describe what an uninterrupted run does").isEmpty();
  }

  @ParameterizedTest(name = "bs={0}")
  @ValueSource(ints = {512, 4096})
  void script_coversEveryKindOfStep_andEveryStepHasCrashPoints(int blockSize) throws IOException {
    CrashCampaign c = campaign(blockSize);
    Set<Kind> kinds = EnumSet.noneOf(Kind.class);
    List<String> silent = new ArrayList<>();
    for (int s = 0; s < c.script.size(); s++) {
      kinds.add(c.script.step(s).kind());
      if (c.endWriteOf(s) == c.firstWriteOf(s)) {
        silent.add(c.script.step(s).name());
      }
    }
    assertThat(kinds).containsExactlyInAnyOrder(Kind.values());
    assertThat(silent).as("steps without a write have no crash point, so nothing about them is tested").isEmpty();
    System.out.printf("[reliability] scripted bs=%d: %d steps, %,d crash points%n", blockSize, c.script.size(),
        c.totalWrites());
  }

  @ParameterizedTest(name = "bs={0}")
  @ValueSource(ints = {512, 4096})
  void everyCrashIndex_recoversAndContinues_underEveryCrashModel(int blockSize) throws IOException {
    sweep(blockSize, DEFAULT_SEEDS, false);
  }

  @Tag("crash-exhaustive")
  @ParameterizedTest(name = "bs={0}")
  @ValueSource(ints = {512, 4096})
  void everyCrashIndex_recoversAndContinues_underEveryCrashModel_everyPrefix_andEveryTear(int blockSize)
      throws IOException {
    sweep(blockSize, EXHAUSTIVE_SEEDS, true);
  }

  private void sweep(int blockSize, int seeds, boolean everyPrefixAndTear) throws IOException {
    CrashCampaign c = campaign(blockSize);
    Findings f = new Findings("scripted bs=" + blockSize + ", every index, every model, " + seeds + " seed(s)"
        + (everyPrefixAndTear ? ", every prefix and tear" : ""));
    for (long v = 0; v < c.totalWrites(); v++) {
      CrashCampaign.CutRun run = c.runWithCut(v);
      List<KeepPolicy> policies = new ArrayList<>();
      for (Model m : Model.values()) {
        for (int k = 0; k < (m == Model.LOSE_UNSYNCED ? 1 : seeds); k++) {
          KeepPolicy p = c.policy(m, run, CrashCampaign.mix(SEED + k, v, m.ordinal()));
          if (p != null) {
            policies.add(p);
          }
        }
      }
      if (everyPrefixAndTear) {
        int pending = run.cx.copyDestination != null && run.cx.copyDestination.isCut()
            ? run.cx.copyDestination.pendingWriteCount() : run.cx.device.pendingWriteCount();
        for (int k = 1; k < pending; k++) {
          policies.add(KeepPolicy.prefix(k));
        }
        for (int j = 0; j < pending; j++) {
          policies.add(KeepPolicy.torn(j, CrashCampaign.mix(SEED, v, 100 + j)));
        }
      }
      for (KeepPolicy p : policies) {
        f.add(c.check(run, p));
      }
    }
    f.report("crash states", (1 + 2L * seeds) * c.totalWrites() / 2);
  }
}
