package dev.vde.module.copy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.vde.VdeCorruptedException;
import dev.vde.format.Module;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Cuts the power at every write of a copy, keeps several subsets of the unsynced writes, and checks what is left:
 * the source byte for byte as before, and the destination either a complete, clean copy or something no open
 * accepts (an incomplete copy, or not a volume at all).
 */
class CopyCrashTest {
  @ParameterizedTest(name = "block size {0}")
  @ValueSource(ints = {TestVolumes.BS_4K, TestVolumes.BS_512})
  void everyCrashPointLeavesTheSourceAloneAndTheDestinationInvalidOrComplete(int blockSize) throws Exception {
    try (TestVolumes.Volume src = TestVolumes.create(blockSize)) {
      populate(src.disk(), blockSize);
      Map<String, String> want = CopyFixtures.tree(src.disk());
      src.disk().checkpoint();
      byte[] sourceBefore = src.device().snapshot();
      CopyOptions options = CopyOptions.defaults().addModule(Module.TAGS);

      PowerLossDevice probe = new PowerLossDevice("probe");
      CopyResult full = ExtentAwareCopy.copy(src.disk(), probe, options);
      assertThat(full.blocksRelocated()).as("the sweep covers relocation").isPositive();
      long writes = probe.writeCount();
      int complete = 0;
      int refused = 0;
      for (long i = 0; i < writes; i++) {
        PowerLossDevice dst = new PowerLossDevice("copy cut at write " + i);
        dst.crashAt(i);
        try {
          ExtentAwareCopy.copy(src.disk(), dst, options);
          fail("the copy survived a power cut at write " + i);
        } catch (PowerLossDevice.PowerCutException expected) {
          // The cut is the point of the exercise.
        }
        for (KeepPolicy policy : List.of(KeepPolicy.NONE, KeepPolicy.ALL, KeepPolicy.randomSubset(i),
            KeepPolicy.randomBlocks(blockSize, i), KeepPolicy.torn(0, i))) {
          if (policy instanceof KeepPolicy.Torn && dst.pendingWriteCount() == 0) {
            continue;
          }
          String context = "cut at write " + i + " of " + writes + ", " + policy + ", block size " + blockSize;
          if (checkSurvivor(dst.powerLoss(policy), want, context)) {
            assertThat(i).as("only the final superblock writes make a volume; " + context)
                .isGreaterThanOrEqualTo(writes - 2);
            complete++;
          } else {
            refused++;
          }
        }
        assertThat(Arrays.equals(src.device().snapshot(), sourceBefore)).as("source unchanged").isTrue();
      }
      assertThat(refused).as("crash points that leave an unusable destination").isPositive();
      assertThat(complete).as("crash points at the very end that leave a complete copy").isPositive();
    }
  }

  /**
   * A cut between the two final superblock writes leaves a complete copy whose other slot still carries the
   * incomplete-copy mark. It opens, but it is one lost block from never opening again: were the complete slot lost,
   * open would take the marked one and refuse the volume, which "either copy alone may be lost" must not allow.
   * The first writable open must rewrite the marked slot, and the verifier must report it until then. The source
   * is read-only, as {@code vde copy} opens it: one pass, so both pairs of superblocks carry the same WAL salt and
   * nothing else tells the marked slot from a current one.
   */
  @ParameterizedTest(name = "block size {0}")
  @ValueSource(ints = {TestVolumes.BS_4K, TestVolumes.BS_512})
  void aCutBetweenTheFinalSuperblocks_leavesNoMarkedSlotBehindTheFirstWritableOpen(int blockSize) throws Exception {
    PowerLossDevice image;
    try (TestVolumes.Volume src = TestVolumes.create(blockSize)) {
      populate(src.disk(), blockSize);
      image = src.device();
    }
    try (VirtualDisk source = VirtualDisk.open(PowerLossDevice.fromImage("source", image.snapshot()),
        OpenOptions.readOnlyOptions())) {
      Map<String, String> want = CopyFixtures.tree(source);
      CopyOptions options = CopyOptions.defaults().addModule(Module.TAGS);
      PowerLossDevice probe = new PowerLossDevice("probe");
      ExtentAwareCopy.copy(source, probe, options);
      long writes = probe.writeCount();

      PowerLossDevice dst = new PowerLossDevice("copy cut at its last write");
      dst.crashAt(writes - 1);
      try {
        ExtentAwareCopy.copy(source, dst, options);
        fail("the copy survived a power cut at its last write");
      } catch (PowerLossDevice.PowerCutException expected) {
        // The cut write is slot 1's final superblock.
      }
      // Slot 0's final superblock reached the disk, slot 1's did not: slot 1 keeps the marked one.
      PowerLossDevice survivor = dst.powerLoss(KeepPolicy.prefix(1));

      try (VirtualDisk ro = VirtualDisk.open(PowerLossDevice.fromImage("cut copy", survivor.snapshot()),
          OpenOptions.readOnlyOptions())) {
        assertThat(CopyFixtures.tree(ro)).isEqualTo(want);
        assertThat(ro.verify(dev.vde.Progress.NONE).problems()).as("the verifier names the marked copy")
            .anySatisfy(p -> {
              assertThat(p.blockNo()).isEqualTo(1);
              assertThat(p.message()).contains("incomplete copy");
            });
      }
      TestVolumes.open(survivor).close();
      PowerLossDevice lostSlot0 = PowerLossDevice.fromImage("reopened copy, slot 0 lost", survivor.snapshot());
      lostSlot0.write(0, java.nio.ByteBuffer.wrap(new byte[blockSize]));
      lostSlot0.sync();
      try (VirtualDisk copy = TestVolumes.open(lostSlot0)) {
        assertThat(CopyFixtures.tree(copy)).isEqualTo(want);
        CopyFixtures.assertClean(copy, "the reopened copy with slot 0 lost");
      }
    }
  }

  /** True when the survivor is a complete copy (checked), false when every open refuses it as it must. */
  private static boolean checkSurvivor(PowerLossDevice survivor, Map<String, String> want, String context)
      throws IOException {
    VirtualDisk copy;
    try {
      copy = VirtualDisk.open(survivor, OpenOptions.defaults());
    } catch (VdeCorruptedException e) {
      // Refused as a copy that never finished, or as no volume at all: no superblock, or only a torn one.
      assertThat(e.getStructure()).as(context + ": " + e.getMessage()).isEqualTo("superblock");
      assertThat(e.getMessage()).as(context).containsAnyOf("incomplete copy", "not a vde image", "trailer checksum",
          "block is all zero");
      return false;
    }
    try {
      assertThat(CopyFixtures.tree(copy)).as(context).isEqualTo(want);
      CopyFixtures.assertClean(copy, context);
    } finally {
      copy.close();
    }
    return true;
  }

  private static void populate(VirtualDisk d, int blockSize) throws IOException {
    int payload = blockSize - 16;
    d.mkdirs("/a/b");
    d.writeFile("/a/b/one", SeededBytes.bytes(1, payload * 3 + 5));
    d.writeFile("/empty", new byte[0]);
    d.writeFile("/a/two", SeededBytes.bytes(2, payload * 20));
    d.writeFile("/frag", new byte[0]);
    for (int i = 0; i < 10; i++) {
      d.append("/frag", SeededBytes.bytes(10 + i, payload));
      d.writeFile("/spacer" + i, SeededBytes.bytes(30 + i, 40));
    }
  }
}
