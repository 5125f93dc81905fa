package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeException;
import dev.vde.VdeFormatTooNewException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.inode.InodeCodec;
import dev.vde.module.AdditionOption;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationOptions;
import dev.vde.module.ModuleOrchestrator;
import dev.vde.module.ModulePlanner;
import dev.vde.testing.PowerLossDevice;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A volume written by a newer engine may carry a compat module this engine does not know, with an inode field in
 * what is padding to this engine. A migration converts inodes by the layout of the modules it knows, so it
 * dropped that field from every inode while keeping the module's manifest and compat bits; it is now refused
 * before anything is written (the copy already refused such a volume for the same reason).
 */
class UnknownModuleMigrationTest {
  private static final int BS = 4096;
  private static final int UNKNOWN_ID = 20;
  private static final int FIELD_OFFSET = 304;

  private static byte[] block(byte[] image, long n) {
    return Arrays.copyOfRange(image, (int) n * BS, (int) (n + 1) * BS);
  }

  private static void put(byte[] image, long n, byte[] b) {
    System.arraycopy(b, 0, image, (int) n * BS, BS);
  }

  @Test
  void aMigrationOfAVolumeWithAnUnknownModuleFieldIsRefusedAndTheFieldKept() throws Exception {
    PowerLossDevice made = new PowerLossDevice("unknown-module");
    long inode;
    long table;
    try (VirtualDisk d = VirtualDisk.create(made, CreateOptions.ofSize(4L << 20).blockSize(BS))) {
      d.writeFile("/a", new byte[] {1, 2, 3});
      inode = d.stat("/a").inode();
      table = d.volume().regions().find(RegionDirectory.TAG_INODES).start();
    }
    byte[] image = made.snapshot();
    // What a newer engine with compat module 20 (8 inode bytes, claimed from padding) would have left.
    for (long slot = 0; slot < 2; slot++) {
      Superblock s = Superblock.read(block(image, slot), slot, "test");
      InodeLayout layout = new InodeLayout(s.inodeSize(),
          List.of(new InodeLayout.Field(UNKNOWN_ID, FIELD_OFFSET, 8)));
      Superblock t = new Superblock(s.formatMajor(), s.formatMinor(), s.blockSize(), s.inodeSize(),
          s.totalBlocks(), s.uuid(), s.createdMillis(), s.modifiedMillis(), s.sequence(),
          s.compat() | 1L << (32 + UNKNOWN_ID), s.roCompat(), s.incompat(), s.moduleManifest() | 1L << UNKNOWN_ID,
          s.moduleConfig(), s.inodeCount(), s.inodesUsed(), s.freeBlocks(), s.regionDirStart(),
          s.regionDirBlocks(), s.walStart(), s.walBlocks(), s.checkpointTxId(), s.walSalt(),
          s.inodeTableInitBlocks(), s.label(), layout);
      put(image, slot, t.write());
    }
    int perBlock = InodeCodec.perBlock(BS, 320);
    long index = inode / perBlock;
    byte[] b = block(image, table + index);
    int at = (int) (inode % perBlock) * 320 + FIELD_OFFSET;
    byte[] field = {(byte) 0xA0, (byte) 0xA1, (byte) 0xA2, (byte) 0xA3, (byte) 0xA4, (byte) 0xA5, (byte) 0xA6,
        (byte) 0xA7};
    System.arraycopy(field, 0, b, at, field.length);
    BlockCodec.seal(b, BlockType.INODE_TABLE, (int) index);
    put(image, table + index, b);
    PowerLossDevice dev = PowerLossDevice.fromImage("unknown-module", image);

    try (VirtualDisk d = VirtualDisk.open(dev, OpenOptions.defaults())) {
      assertThat(d.isReadOnly()).as("unknown compat bits are ignored at open").isFalse();
      ModulePlanner.Analysis a = ModulePlanner.analyze(d, List.of(Module.TAGS));
      assertThat(a.option(AdditionOption.MIGRATE).feasible()).isFalse();
      assertThat(a.option(AdditionOption.MIGRATE).reason()).contains("does not know");
      assertThat(a.option(AdditionOption.COPY).feasible()).isFalse();
      assertThatThrownBy(() -> ModuleOrchestrator.executeRecommended(d, List.of(Module.TAGS),
          ModuleOrchestrator.Controls.defaults())).isInstanceOf(VdeException.class);
      assertThatThrownBy(() -> InodeMigration.start(d, List.of(Module.TAGS), MigrationOptions.defaults()))
          .isInstanceOf(VdeFormatTooNewException.class).hasMessageContaining("does not know");
      Superblock sb = d.volume().superblock();
      assertThat(sb.layout().fieldFor(UNKNOWN_ID)).isNotNull();
      assertThat(sb.moduleManifest() & 1L << UNKNOWN_ID).isNotZero();
      assertThat(sb.incompat() & Superblock.INCOMPAT_MIGRATION_PENDING).isZero();
      assertThat(d.readFile("/a")).containsExactly(1, 2, 3);
    }
    byte[] after = dev.powerLoss(PowerLossDevice.KeepPolicy.NONE).snapshot();
    byte[] b2 = block(after, table + index);
    assertThat(Arrays.copyOfRange(b2, at, at + field.length)).containsExactly(field);
  }
}
