package dev.vde.module;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.VdeNoSpaceException;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.copy.CopyOptions;
import dev.vde.testing.SeededBytes;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The orchestrator judged a copy as the planner does, at the source's size; a caller that gave the copy a larger
 * size (the very remedy the planner's refusal names) was refused all the same, and on a volume too full for any
 * in-place option {@code executeRecommended} said that nothing could add the module.
 */
class OrchestratorCopySizeTest {
  @TempDir
  Path dir;

  private static VirtualDisk full(Path image) throws Exception {
    VirtualDisk d = VirtualDisk.create(image, CreateOptions.ofSize(4L << 20));
    int k = 0;
    try {
      while (true) {
        d.writeFile("/f" + k, SeededBytes.bytes(k, 40_000));
        k++;
      }
    } catch (VdeNoSpaceException e) {
      // full: no room for a second inode table, nor for the data next to a larger one at the same size
    }
    return d;
  }

  @Test
  void aCopyToALargerSizeIsRunWhenTheControlsGiveOne() throws Exception {
    Path dst = dir.resolve("larger.vde");
    try (VirtualDisk d = full(dir.resolve("full.vde"))) {
      assertThat(ModulePlanner.analyze(d, List.of(Module.TAGS)).option(AdditionOption.COPY).feasible())
          .as("precondition: at the same size the copy does not fit").isFalse();
      ModuleOrchestrator.Controls larger = new ModuleOrchestrator.Controls(dst, null,
          CopyOptions.defaults().sizeBytes(8L << 20));

      ModuleOrchestrator.Outcome o = ModuleOrchestrator.execute(d, List.of(Module.TAGS), AdditionOption.COPY, larger);

      assertThat(o.copy().blocksCopied()).isPositive();
      assertThat(d.info().modules()).as("source unchanged").isEmpty();
    }
    try (VirtualDisk c = VirtualDisk.open(dst, OpenOptions.defaults())) {
      assertThat(c.info().modules()).containsExactly(Module.TAGS);
      assertThat(c.info().totalBlocks() * c.info().blockSize()).isEqualTo(8L << 20);
      assertThat(c.verify(Progress.NONE).problems()).isEmpty();
    }
  }

  /**
   * The orchestrator set the modules to add on the caller's own copy options, so that a later copy made with the same
   * options (a plain backup of another volume, say) added them as well, unasked.
   */
  @Test
  void aCopyLeavesTheCallersCopyOptionsAsTheyWere() throws Exception {
    Path dst = dir.resolve("tags.vde");
    Path backup = dir.resolve("backup.vde");
    CopyOptions mine = CopyOptions.defaults().sizeBytes(8L << 20);
    ModuleOrchestrator.Controls controls = new ModuleOrchestrator.Controls(dst, null, mine);
    try (VirtualDisk d = VirtualDisk.create(dir.resolve("src.vde"), CreateOptions.ofSize(4L << 20))) {
      d.writeFile("/a", new byte[] {1});
      ModuleOrchestrator.execute(d, List.of(Module.TAGS), AdditionOption.COPY, controls);
      assertThat(mine.modulesToAdd()).as("the caller's copy options").isEmpty();
      assertThat(mine.sizeBytes()).isEqualTo(8L << 20);

      dev.vde.module.copy.ExtentAwareCopy.copy(d, backup, controls.copy());
    }
    try (VirtualDisk c = VirtualDisk.open(dst, OpenOptions.defaults())) {
      assertThat(c.info().modules()).containsExactly(Module.TAGS);
      assertThat(c.info().totalBlocks() * c.info().blockSize()).isEqualTo(8L << 20);
    }
    try (VirtualDisk c = VirtualDisk.open(backup, OpenOptions.defaults())) {
      assertThat(c.info().modules()).as("a plain copy with the same options").isEmpty();
    }
  }

  @Test
  void theRecommendationTakesTheCopysSizeIntoAccount() throws Exception {
    Path dst = dir.resolve("recommended.vde");
    try (VirtualDisk d = full(dir.resolve("full2.vde"))) {
      ModuleOrchestrator.Controls larger = new ModuleOrchestrator.Controls(dst, null,
          CopyOptions.defaults().sizeBytes(8L << 20));
      ModulePlanner.Analysis a = ModulePlanner.analyze(d, List.of(Module.TAGS), larger.copy());
      assertThat(a.recommended().option()).isEqualTo(AdditionOption.COPY);
      assertThat(larger.copy().modulesToAdd()).as("the analysis leaves the caller's options as they were").isEmpty();

      ModuleOrchestrator.Outcome o = ModuleOrchestrator.executeRecommended(d, List.of(Module.TAGS), larger);

      assertThat(o.option()).isEqualTo(AdditionOption.COPY);
    }
    try (VirtualDisk c = VirtualDisk.open(dst, OpenOptions.defaults())) {
      assertThat(c.info().modules()).containsExactly(Module.TAGS);
      assertThat(c.verify(Progress.NONE).problems()).isEmpty();
    }
  }
}
