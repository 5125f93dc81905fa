package dev.vde.module;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Blocks a delete frees become allocatable only after the next checkpoint. The pre-flight checks of module
 * additions planned on the allocatable blocks alone, so right after a delete they refused, for lack of room,
 * an addition the delete had made room for (even after an explicit checkpoint), and the planner recommended
 * nothing. They now count freed blocks as free; the transaction that allocates releases them when it runs short.
 */
class FreedSpacePlanningTest {
  private static VirtualDisk filledThenEmptied() throws Exception {
    VirtualDisk d = VirtualDisk.create(new PowerLossDevice("freed"), CreateOptions.ofSize(4L << 20).blockSize(4096));
    long free = d.info().freeBlocks();
    byte[] big = new byte[(int) ((free - 8) * (4096 - 16))];
    Arrays.fill(big, (byte) 1);
    d.writeFile("/big", big);
    d.delete("/big");
    return d;
  }

  @Test
  void aRegionAdditionRightAfterADeleteUsesTheFreedSpace() throws Exception {
    try (VirtualDisk d = filledThenEmptied()) {
      long need = Module.INTEGRITY.regions().get(0).blocksFor(d.volume().superblock().totalBlocks());
      assertThat(d.info().freeBlocks()).isGreaterThan(4 * need);
      InPlaceAddition.add(d, List.of(Module.INTEGRITY));
      assertThat(d.info().modules()).containsExactly(Module.INTEGRITY);
      assertThat(d.verify(Progress.NONE).problems()).isEmpty();
    }
  }

  @Test
  void theAnalysisRightAfterADeleteRecommendsTheRegionAddition() throws Exception {
    try (VirtualDisk d = filledThenEmptied()) {
      ModulePlanner.Analysis a = ModulePlanner.analyze(d, List.of(Module.INTEGRITY));
      assertThat(a.option(AdditionOption.REGION).feasible()).as(a.option(AdditionOption.REGION).reason()).isTrue();
      assertThat(a.recommended()).isNotNull();
      assertThat(a.recommended().option()).isEqualTo(AdditionOption.REGION);
    }
  }

  @Test
  void aRegionAdditionAfterADeleteAndACheckpointUsesTheFreedSpace() throws Exception {
    try (VirtualDisk d = filledThenEmptied()) {
      d.checkpoint();
      InPlaceAddition.add(d, List.of(Module.INTEGRITY));
      assertThat(d.info().modules()).containsExactly(Module.INTEGRITY);
    }
  }

  @Test
  void aMigrationRightAfterADeleteUsesTheFreedSpace() throws Exception {
    try (VirtualDisk d = filledThenEmptied()) {
      InodeMigration.Plan p = InodeMigration.plan(d, List.of(Module.TAGS));
      assertThat(p.feasible()).as(p.reason()).isTrue();
      InodeMigration.start(d, List.of(Module.TAGS), MigrationOptions.defaults());
      assertThat(d.info().modules()).containsExactly(Module.TAGS);
      assertThat(d.verify(Progress.NONE).problems()).isEmpty();
    }
  }
}
