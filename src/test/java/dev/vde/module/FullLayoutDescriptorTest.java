package dev.vde.module;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import dev.vde.format.Superblock;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The layout descriptor holds at most 19 fields (FORMAT.md section 10), and a newer engine may have filled it with
 * fields of compat modules this engine does not know. A padding claim then added a twentieth: the superblock was
 * committed with a descriptor no reader accepts: the closing checkpoint failed on it, and the volume reopened
 * read-only, its WAL reported damaged from the addition on, every change after it unreplayable.
 */
class FullLayoutDescriptorTest {
  private static final int BS = 4096;
  private static final int FIRST_UNKNOWN_ID = 20;

  private static byte[] block(byte[] image, long n) {
    return Arrays.copyOfRange(image, (int) n * BS, (int) (n + 1) * BS);
  }

  /** A volume with five known fields and fourteen one-byte fields of unknown compat modules: 19 in all. */
  private static PowerLossDevice withFullDescriptor() throws Exception {
    PowerLossDevice made = new PowerLossDevice("full descriptor");
    try (VirtualDisk d = VirtualDisk.create(made, CreateOptions.ofSize(4L << 20).blockSize(BS).modules(Set.of(
        Module.SECURITY, Module.COMPLIANCE, Module.INTELLIGENCE, Module.REPLICATION, Module.RAID)))) {
      d.writeFile("/a", new byte[] {1, 2, 3});
    }
    byte[] image = made.snapshot();
    for (long slot = 0; slot < 2; slot++) {
      Superblock s = Superblock.read(block(image, slot), slot, "test");
      List<InodeLayout.Field> fields = new ArrayList<>(s.layout().fields());
      long compat = s.compat();
      long manifest = s.moduleManifest();
      int at = s.layout().usedEnd();
      while (fields.size() < InodeLayout.MAX_FIELDS) {
        int id = FIRST_UNKNOWN_ID + fields.size();
        fields.add(new InodeLayout.Field(id, at++, 1));
        compat |= 1L << (32 + id);
        manifest |= 1L << id;
      }
      InodeLayout layout = new InodeLayout(s.inodeSize(), fields);
      assertThat(layout.problems()).isEmpty();
      Superblock t = new Superblock(s.formatMajor(), s.formatMinor(), s.blockSize(), s.inodeSize(),
          s.totalBlocks(), s.uuid(), s.createdMillis(), s.modifiedMillis(), s.sequence(), compat, s.roCompat(),
          s.incompat(), manifest, s.moduleConfig(), s.inodeCount(), s.inodesUsed(), s.freeBlocks(),
          s.regionDirStart(), s.regionDirBlocks(), s.walStart(), s.walBlocks(), s.checkpointTxId(), s.walSalt(),
          s.inodeTableInitBlocks(), s.label(), layout);
      System.arraycopy(t.write(), 0, image, (int) slot * BS, BS);
    }
    return PowerLossDevice.fromImage("full descriptor", image);
  }

  @Test
  void aPaddingClaimThatWouldMakeATwentiethField_isRefused_andTheVolumeStillOpens() throws Exception {
    PowerLossDevice dev = withFullDescriptor();
    try (VirtualDisk d = VirtualDisk.open(dev, OpenOptions.defaults())) {
      assertThat(d.volume().superblock().layout().paddingBytes()).as("precondition: Transit's byte is free")
          .isPositive();
      ModulePlanner.OptionAnalysis padding = ModulePlanner.analyze(d, List.of(Module.TRANSIT))
          .option(AdditionOption.PADDING);
      assertThat(padding.feasible()).isFalse();
      assertThat(padding.reason()).contains("19 fields");
      assertThatThrownBy(() -> InPlaceAddition.add(d, List.of(Module.TRANSIT)))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("19 fields");
      assertThat(PaddingClaim.canClaimPadding(d.volume().superblock().layout(), Module.TRANSIT)).isFalse();
      d.writeFile("/b", new byte[] {9});
    }
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage("reopened", dev.durableSnapshot()),
        OpenOptions.defaults())) {
      assertThat(d.readOnlyReason()).isNull();
      assertThat(d.readFile("/a")).containsExactly(1, 2, 3);
      assertThat(d.readFile("/b")).containsExactly(9);
      assertThat(d.info().modules()).doesNotContain(Module.TRANSIT);
      assertThat(d.verify(Progress.NONE).problems()).isEmpty();
    }
  }
}
