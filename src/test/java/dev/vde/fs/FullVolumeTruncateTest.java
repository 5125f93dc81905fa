package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeNoSpaceException;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Shrinking a file to a size inside a block on a volume with no free block. The kept part of that block is copied
 * with its tail zeroed into a fresh block (data is never rewritten in place, and a block the truncate frees is not
 * reusable before the truncate is durable), so this one shrink needs a block; the refusal must say so and what to
 * do, and the way it names must work.
 */
class FullVolumeTruncateTest {
  @Test
  void shrinkingIntoABlockOnAFullVolume_saysWhyAndHowAndTheWayItNamesWorks() throws IOException {
    try (TestVolumes.Volume v = TestVolumes.create(TestVolumes.BS_4K)) {
      VirtualDisk disk = v.disk();
      int payload = disk.volume().payload();
      byte[] data = SeededBytes.bytes(7, payload * 10);
      disk.writeFile("/big", data);
      fill(disk, payload);
      assertThat(disk.info().freeBlocks()).isZero();
      long size = payload * 3L + 100;

      assertThatThrownBy(() -> disk.truncate("/big", size))
          .isInstanceOf(VdeNoSpaceException.class)
          .hasMessageContaining("/big")
          .hasMessageContaining("copy-on-write")
          .hasMessageContaining("truncate to " + payload * 4L + " bytes first");
      assertThat(disk.readFile("/big")).as("the refused truncate changed nothing").isEqualTo(data);

      disk.truncate("/big", payload * 4L);
      disk.truncate("/big", size);
      assertThat(disk.readFile("/big")).isEqualTo(Arrays.copyOf(data, (int) size));
      TestVolumes.assertClean(disk.verify(Progress.NONE), "after the two-step shrink on a full volume");
    }
  }

  @Test
  void shrinkingInsideTheOnlyBlockOnAFullVolume_saysThatSpaceMustBeFreedElsewhere() throws IOException {
    try (TestVolumes.Volume v = TestVolumes.create(TestVolumes.BS_4K)) {
      VirtualDisk disk = v.disk();
      int payload = disk.volume().payload();
      disk.writeFile("/small", SeededBytes.bytes(8, payload - 1));
      fill(disk, payload);
      assertThat(disk.info().freeBlocks()).isZero();

      assertThatThrownBy(() -> disk.truncate("/small", 10))
          .isInstanceOf(VdeNoSpaceException.class)
          .hasMessageContaining("/small")
          .hasMessageContaining("free a block elsewhere");
      disk.truncate("/small", 0);
      assertThat(disk.stat("/small").size()).isZero();
    }
  }

  /** Writes ever smaller files until not a block is left (few files: inodes must not run out first). */
  private static void fill(VirtualDisk disk, int payload) throws IOException {
    int n = 0;
    for (int blocks = 256; blocks >= 1; blocks /= 2) {
      while (true) {
        try {
          disk.writeFile("/fill" + n++, new byte[blocks * payload]);
        } catch (VdeNoSpaceException full) {
          break;
        }
      }
    }
  }
}
