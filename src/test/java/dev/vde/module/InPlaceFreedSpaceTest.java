package dev.vde.module;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * An in-place addition plans its regions on free space that counts blocks freed since the last checkpoint, but
 * allocated them first-fit among the blocks allocatable at once: with a hole freed by a delete before a run of
 * exactly the larger region's size, the smaller first region took the start of that run, and the larger one then
 * found no room although the plan had. The addition now makes the freed blocks allocatable before it allocates.
 */
class InPlaceFreedSpaceTest {
  private static final int BS = 4096;
  private static final int PAYLOAD = BS - 16;

  @Test
  void regionsOfDifferentSizesLandWhereThePlanPutThem() throws Exception {
    VirtualDisk disk = VirtualDisk.create(new PowerLossDevice("in-place freed space"),
        CreateOptions.ofSize(16L << 20).blockSize(BS));
    long total = disk.info().totalBlocks();
    List<Module.Region> regions = Module.COMPLIANCE.regions();
    long small = regions.get(0).blocksFor(total);
    long large = regions.get(1).blocksFor(total);
    assertThat(small).as("precondition: the first region is the smaller").isLessThan(large);

    // Free space in the end: a hole of the first region's size, freed by a delete and so allocatable only after
    // the next checkpoint, and then a run of exactly the second region's size.
    disk.writeFile("/hole", new byte[(int) small * PAYLOAD]);
    int n = 0;
    while (disk.info().freeBlocks() > large + 16) {
      disk.writeFile("/big" + n++, new byte[16 * PAYLOAD]);
    }
    while (disk.info().freeBlocks() > large) {
      disk.writeFile("/small" + n++, new byte[PAYLOAD]);
    }
    assertThat(disk.info().freeBlocks()).as("precondition: exactly the second region free").isEqualTo(large);
    disk.delete("/hole");
    ModulePlanner.Analysis analysis = ModulePlanner.analyze(disk, List.of(Module.COMPLIANCE));
    assertThat(analysis.option(AdditionOption.REGION).feasible())
        .as("precondition: the plan finds room: %s", analysis.option(AdditionOption.REGION).reason()).isTrue();

    InPlaceAddition.add(disk, List.of(Module.COMPLIANCE));

    assertThat(disk.info().modules()).containsExactly(Module.COMPLIANCE);
    assertThat(disk.info().freeBlocks()).as("the hole and the run both taken").isZero();
    assertThat(disk.verify(Progress.NONE).problems()).isEmpty();
    disk.close();
  }
}
