package dev.vde.module.copy;

import static dev.vde.module.copy.CopyFixtures.BS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeCorruptedException;
import dev.vde.VdeException;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.BlockDevice;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Copies onto a device that records every write: nothing but allocated blocks is ever written. */
class DeviceCopyTest {
  @TempDir
  Path tmp;

  @Test
  void onlyBlocksTheCopyAllocatesAreWrittenAndEachOnce() throws Exception {
    PowerLossDevice target = new PowerLossDevice("copy target");
    RecordingDevice rec = new RecordingDevice(target, BS);
    Map<String, String> before;
    CopyResult r;
    try (VirtualDisk d = CopyFixtures.create(tmp.resolve("src.vde"), 32L << 20)) {
      CopyFixtures.populate(d);
      before = CopyFixtures.tree(d);
      r = ExtentAwareCopy.copy(d, rec, CopyOptions.defaults().addModule(Module.TAGS).verify(true));
    }
    assertThat(r.blocksRelocated()).isPositive();
    BitSet written = rec.writtenBlocks();
    // Every block once, but the two superblocks, written first marked incomplete and last for real.
    assertThat(rec.bytesWritten()).isEqualTo((written.cardinality() + 2L) * BS);
    try (VirtualDisk c = VirtualDisk.open(target, OpenOptions.readOnlyOptions())) {
      for (int b = written.nextSetBit(0); b >= 0; b = written.nextSetBit(b + 1)) {
        assertThat(c.volume().bitmap().isDurablyAllocated(b)).as("written block %d is allocated", b).isTrue();
      }
      RegionDirectory rd = c.volume().regions();
      long metadataEnd = rd.entries().stream().mapToLong(RegionDirectory.Entry::end).max().orElseThrow();
      assertThat(written.get((int) metadataEnd, (int) c.info().totalBlocks()).cardinality())
          .as("data-area blocks written").isEqualTo(r.blocksCopied() + r.extentBlocksAdded());
      long metadataWritten = 2 + c.volume().superblock().regionDirBlocks()
          + rd.find(RegionDirectory.TAG_BITMAP).blocks() + c.volume().superblock().inodeTableInitBlocks();
      assertThat(written.get(0, (int) metadataEnd).cardinality()).as("metadata blocks written")
          .isEqualTo(metadataWritten);
      assertThat(CopyFixtures.tree(c)).isEqualTo(before);
    }
  }

  @Test
  void verificationCatchesADestinationThatReadsBackWrong() throws Exception {
    PowerLossDevice target = new PowerLossDevice("bad disk");
    // Flips a bit in the middle of the first multi-block write, which carries file data.
    BlockDevice flaky = tampering(target, 3 * BS, copy -> copy.put(BS + 5, (byte) (copy.get(BS + 5) ^ 1)));
    try (VirtualDisk d = CopyFixtures.create(tmp.resolve("src.vde"), 16L << 20)) {
      CopyFixtures.populate(d);
      assertThatThrownBy(() -> ExtentAwareCopy.copy(d, flaky, CopyOptions.defaults().verify(true)))
          .isInstanceOf(VdeCorruptedException.class)
          .hasMessageContaining("checksum");
    }
  }

  /**
   * A destination that swaps two blocks of one file as they are written: both keep valid trailers of the right
   * owner, so only the comparison of the file's bytes with the source's can tell. Verification must say which file
   * differs and where.
   */
  @Test
  void verificationComparesContentNotOnlyTrailers() throws Exception {
    PowerLossDevice target = new PowerLossDevice("swapping disk");
    BlockDevice swapping = tampering(target, 8 * BS, copy -> {
      byte[] first = new byte[BS];
      byte[] second = new byte[BS];
      copy.get(2 * BS, first);
      copy.get(3 * BS, second);
      copy.put(2 * BS, second);
      copy.put(3 * BS, first);
    });
    try (VirtualDisk d = CopyFixtures.create(tmp.resolve("src.vde"), 16L << 20)) {
      d.writeFile("/big", dev.vde.testing.SeededBytes.bytes(9, 40 * CopyFixtures.PAYLOAD));
      assertThatThrownBy(() -> ExtentAwareCopy.copy(d, swapping, CopyOptions.defaults().verify(true)))
          .isInstanceOf(dev.vde.VdeException.class)
          .hasMessageContaining("file /big differs from the source's in bytes");
    }
    // The copy found wrong must not open: its final superblocks, written before the comparison, are marked again.
    assertThatThrownBy(() -> VirtualDisk.open(target, OpenOptions.readOnlyOptions()).close())
        .isInstanceOf(VdeException.class).hasMessageContaining("incomplete");
  }

  /** A device that lets {@code edit} change a copy of the first write of at least {@code minBytes}, once. */
  private static BlockDevice tampering(PowerLossDevice target, int minBytes,
      java.util.function.Consumer<ByteBuffer> edit) {
    return new RecordingDevice(target, BS) {
      private boolean done;

      @Override
      public void write(long pos, ByteBuffer src) throws java.io.IOException {
        if (!done && src.remaining() >= minBytes) {
          done = true;
          ByteBuffer copy = ByteBuffer.allocate(src.remaining()).put(src).flip();
          edit.accept(copy);
          super.write(pos, copy);
          return;
        }
        super.write(pos, src);
      }
    };
  }

  /**
   * A device copy writes its final superblocks before it compares the copy with the source; a comparison that was
   * cancelled (or failed, above) used to leave those in place, so the device opened as a valid volume. A failure
   * now marks the copy incomplete again.
   */
  @Test
  void aCopyCancelledDuringVerificationLeavesADeviceThatNoOpenAccepts() throws Exception {
    PowerLossDevice target = new PowerLossDevice("disk");
    boolean[] cancel = {false};
    try (VirtualDisk d = CopyFixtures.create(tmp.resolve("src.vde"), 16L << 20)) {
      d.writeFile("/big", SeededBytes.bytes(9, 40 * CopyFixtures.PAYLOAD));
      assertThatThrownBy(() -> ExtentAwareCopy.copy(d, target, CopyOptions.defaults().verify(true)
          .progress((phase, n, total, unit) -> cancel[0] |= phase.startsWith("verifying"))
          .cancellation(() -> cancel[0]))).isInstanceOf(CopyCancelledException.class);
    }
    assertThatThrownBy(() -> VirtualDisk.open(target, OpenOptions.readOnlyOptions()).close())
        .isInstanceOf(VdeException.class).hasMessageContaining("incomplete");
  }
}
