package dev.vde.module.copy;

import static dev.vde.module.copy.CopyFixtures.PAYLOAD;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.Module;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.AdditionOption;
import dev.vde.module.ModulePlanner;
import dev.vde.testing.SeededBytes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The module planner called a copy feasible when the allocated blocks fit next to the destination's larger
 * metadata; but the blocks that metadata covers move into scattered free blocks, which splits a file's runs into
 * more extents, and past the eighth those need extent-chain blocks that no count of allocated blocks includes.
 * Near full, the copy's own plan then lacked a block or two and the recommended copy failed.
 */
class CopyPlanAgreementTest {
  private static final List<Module> TAGS = List.of(Module.TAGS);

  @TempDir
  Path tmp;

  @Test
  void nearFullWithExtentChains_theAnalysisCallsTheCopyFeasibleExactlyWhenItFits() throws Exception {
    Path src = tmp.resolve("src.vde");
    try (VirtualDisk d = CopyFixtures.create(src, 4L << 20, 1024)) {
      // A big file where the destination's metadata will be, a fragmented one with an extent chain, and free space
      // left as one-block holes, so that moved runs split into one-block extents.
      d.writeFile("/big", SeededBytes.bytes(1, 120 * PAYLOAD));
      CopyFixtures.fragmented(d, "/frag", 10);
      int made = 0;
      while (d.info().freeBlocks() > 200) {
        d.writeFile("/s" + made, SeededBytes.bytes(made, 100));
        made++;
      }
      for (int k = 0; k < made; k += 2) {
        d.delete("/s" + k);
      }
      d.checkpoint();
      int i = 0;
      while (d.info().freeBlocks() > 100) {
        d.writeFile("/r" + i, SeededBytes.bytes(i, 100));
        i++;
      }
      int copied = 0;
      for (; ; i++) {
        ModulePlanner.OptionAnalysis copy = ModulePlanner.analyze(d, TAGS).option(AdditionOption.COPY);
        if (!copy.feasible()) {
          // The quick count still says it fits: only the plan, with its extra chain blocks, knows better.
          assertThat(ExtentAwareCopy.copyProblem(d.volume().superblock(), Set.copyOf(TAGS),
              ExtentAwareCopy.estimateCopyBlocks(d))).as("the count of allocated blocks alone").isNull();
          assertThat(copy.reason()).contains("does not fit in the destination");
          assertThat(copied).as("copies that fit before the volume was too full").isPositive();
          return;
        }
        Path dst = tmp.resolve("dst" + i + ".vde");
        CopyResult r = ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().addModule(Module.TAGS));
        assertThat(r.extentBlocksAdded()).as("the copy added chain blocks").isPositive();
        Files.delete(dst);
        copied++;
        d.writeFile("/r" + i, SeededBytes.bytes(i, 100));
        assertThat(copied).as("the volume fills up").isLessThan(100);
      }
    }
  }
}
