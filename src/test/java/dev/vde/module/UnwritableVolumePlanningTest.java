package dev.vde.module;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.Module;
import dev.vde.format.Superblock;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import dev.vde.wal.SuperblockSlots;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The planner on a volume that no option can change: recovery found acknowledged WAL transactions it cannot replay,
 * so the volume stays read-only (nothing may checkpoint over them) and a copy is refused (it would drop them
 * silently). The analysis called the padding claim feasible and recommended it, and the copy feasible too; running
 * either then failed. Every option must say why it cannot run, and none be recommended. Likewise a volume carrying
 * roCompat features this engine cannot keep up to date opens read-only, and the padding claim and region addition
 * were offered on it.
 */
class UnwritableVolumePlanningTest {
  private static final int BS = 4096;

  @TempDir
  Path dir;

  /** A crashed volume whose WAL holds five transactions, the second damaged after it was acknowledged. */
  private static PowerLossDevice damagedWal() throws IOException {
    PowerLossDevice made = new PowerLossDevice("made");
    try (VirtualDisk d = VirtualDisk.create(made, CreateOptions.ofSize(8L << 20).blockSize(BS))) {
      d.mkdir("/dir");
    }
    PowerLossDevice dev = PowerLossDevice.fromImage("session", made.snapshot());
    VirtualDisk d = TestVolumes.open(dev);
    for (int i = 0; i < 5; i++) {
      d.writeFile("/f" + i, SeededBytes.bytes(i, 900));
    }
    PowerLossDevice crashed = dev.powerLoss(KeepPolicy.NONE);
    TestVolumes.closeQuietly(d);
    Superblock sb = SuperblockSlots.load(crashed).superblock();
    List<Long> descriptors = new ArrayList<>();
    for (long p = 0; p < sb.walBlocks(); p++) {
      byte[] b = read(crashed, sb.walStart() + p);
      if (BlockCodec.checksumMatches(b) && BlockCodec.storedTag(b) == BlockType.WAL_DESCRIPTOR.tag()
          && Bytes.i64(b, 8) == sb.walSalt()) {
        descriptors.add(sb.walStart() + p);
      }
    }
    assertThat(descriptors).hasSize(5);
    long victim = descriptors.get(1) + 1;
    byte[] b = read(crashed, victim);
    b[100] ^= 0x5A;
    crashed.write(victim * BS, ByteBuffer.wrap(b));
    crashed.sync();
    return crashed;
  }

  private static byte[] read(PowerLossDevice dev, long blockNo) throws IOException {
    byte[] b = new byte[BS];
    dev.read(blockNo * BS, ByteBuffer.wrap(b));
    return b;
  }

  @Test
  void aVolumeWithDamagedAcknowledgedTransactions_hasNoFeasibleOption() throws Exception {
    PowerLossDevice crashed = damagedWal();
    for (OpenOptions how : List.of(OpenOptions.defaults(), OpenOptions.readOnlyOptions())) {
      try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage("open", crashed.snapshot()), how)) {
        assertThat(d.readOnlyReason()).contains("is damaged");
        for (List<Module> modules : List.of(List.of(Module.TRANSIT), List.of(Module.INTEGRITY),
            List.of(Module.TAGS))) {
          ModulePlanner.Analysis a = ModulePlanner.analyze(d, modules);
          assertThat(a.recommended()).as("%s recommended for %s", a.recommended(), modules).isNull();
          for (ModulePlanner.OptionAnalysis o : a.options()) {
            assertThat(o.feasible()).as("%s for %s", o.option(), modules).isFalse();
            assertThat(o.reason()).as("%s for %s", o.option(), modules).contains("cannot be replayed");
          }
          assertThatThrownBy(() -> ModuleOrchestrator.executeRecommended(d, modules,
              ModuleOrchestrator.Controls.defaults())).isInstanceOf(VdeException.class)
              .hasMessageContaining("no way to add");
        }
      }
    }
  }

  @Test
  void aVolumeWithUnknownRoCompatFeatures_offersNoInPlaceAddition() throws Exception {
    PowerLossDevice made = new PowerLossDevice("made");
    try (VirtualDisk d = VirtualDisk.create(made, CreateOptions.ofSize(8L << 20).blockSize(BS))) {
      d.writeFile("/hello", new byte[] {1, 2, 3});
    }
    PowerLossDevice dev = PowerLossDevice.fromImage("ro", made.snapshot());
    for (int slot = 0; slot < 2; slot++) {
      Superblock s = Superblock.read(read(dev, slot), slot, "test");
      Superblock t = new Superblock(s.formatMajor(), s.formatMinor(), s.blockSize(), s.inodeSize(), s.totalBlocks(),
          s.uuid(), s.createdMillis(), s.modifiedMillis(), s.sequence(), s.compat(), s.roCompat() | (1L << 9),
          s.incompat(), s.moduleManifest(), s.moduleConfig(), s.inodeCount(), s.inodesUsed(), s.freeBlocks(),
          s.regionDirStart(), s.regionDirBlocks(), s.walStart(), s.walBlocks(), s.checkpointTxId(), s.walSalt(),
          s.inodeTableInitBlocks(), s.label(), s.layout());
      dev.write((long) slot * BS, ByteBuffer.wrap(t.write()));
    }
    dev.sync();
    try (VirtualDisk d = VirtualDisk.open(dev, OpenOptions.defaults())) {
      assertThat(d.isReadOnly()).isTrue();
      for (List<Module> modules : List.of(List.of(Module.TRANSIT), List.of(Module.INTEGRITY))) {
        ModulePlanner.Analysis a = ModulePlanner.analyze(d, modules);
        for (ModulePlanner.OptionAnalysis o : a.options()) {
          assertThat(o.feasible()).as("%s for %s", o.option(), modules).isFalse();
        }
        assertThat(a.option(AdditionOption.PADDING).reason()).contains("roCompat");
        assertThat(a.option(AdditionOption.REGION).reason()).contains("roCompat");
        assertThat(a.recommended()).isNull();
      }
    }
  }

  /**
   * A volume whose allocation bitmap is damaged: it marks the first inode-table block free (the bit cleared under a
   * valid checksum), or the bitmap block no longer passes its checksum. A writable open of the first is read-only
   * (the next block allocated would land on the inode table) and of the second is refused; the read-only open an
   * analysis makes goes on. The analysis offered the padding claim, the region addition and the migration, and
   * recommended one of them, which then failed on the read-only volume; the copy, which only reads and writes a
   * new bitmap, is the option that works.
   */
  @Test
  void aVolumeWhoseBitmapIsDamaged_offersOnlyTheCopy() throws Exception {
    PowerLossDevice made = new PowerLossDevice("made");
    try (VirtualDisk d = VirtualDisk.create(made, CreateOptions.ofSize(8L << 20).blockSize(BS))) {
      d.writeFile("/hello", new byte[] {1, 2, 3});
    }
    long bitmapBlock;
    long tableStart;
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage("look", made.snapshot()),
        OpenOptions.readOnlyOptions())) {
      bitmapBlock = d.volume().regions().find(dev.vde.format.RegionDirectory.TAG_BITMAP).start();
      tableStart = d.volume().regions().find(dev.vde.format.RegionDirectory.TAG_INODES).start();
    }
    PowerLossDevice marksFree = PowerLossDevice.fromImage("marks-free", made.snapshot());
    byte[] b = read(marksFree, bitmapBlock);
    b[(int) (tableStart / 8)] &= (byte) ~(1 << (tableStart % 8));
    BlockCodec.seal(b, BlockType.BITMAP, 0);
    marksFree.write(bitmapBlock * BS, ByteBuffer.wrap(b));
    PowerLossDevice unreadable = PowerLossDevice.fromImage("unreadable", made.snapshot());
    b = read(unreadable, bitmapBlock);
    b[(int) (tableStart / 8)] ^= 0x40;
    unreadable.write(bitmapBlock * BS, ByteBuffer.wrap(b));

    int n = 0;
    for (PowerLossDevice damaged : List.of(marksFree, unreadable)) {
      for (boolean readOnly : new boolean[] {false, true}) {
        OpenOptions how = readOnly ? OpenOptions.readOnlyOptions() : OpenOptions.defaults();
        if (damaged == unreadable && !readOnly) {
          assertThatThrownBy(() -> VirtualDisk.open(PowerLossDevice.fromImage("w", damaged.snapshot()), how))
              .as("precondition: a writable open refuses an unreadable bitmap").isInstanceOf(VdeException.class);
          continue;
        }
        try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage("open", damaged.snapshot()), how)) {
          for (List<Module> modules : List.of(List.of(Module.TRANSIT), List.of(Module.INTEGRITY),
              List.of(Module.TAGS), List.of(Module.RAID))) {
            ModulePlanner.Analysis a = ModulePlanner.analyze(d, modules);
            for (AdditionOption inPlace : List.of(AdditionOption.PADDING, AdditionOption.REGION,
                AdditionOption.MIGRATE)) {
              assertThat(a.option(inPlace).feasible()).as("%s for %s on %s", inPlace, modules, damaged.describe())
                  .isFalse();
            }
            assertThat(a.option(AdditionOption.PADDING).reason()).contains("allocation bitmap is damaged");
            if (damaged == marksFree) {
              // With the bitmap unreadable the copy counts every block it covers as data (a guess that the
              // read-only open makes), so on this small volume it does not fit either; that is its own matter.
              assertThat(a.recommended().option()).as("%s on %s", modules, damaged.describe())
                  .isEqualTo(AdditionOption.COPY);
            }
          }
          if (damaged == marksFree) {
            Path dst = dir.resolve("copy" + n++ + ".vde");
            ModuleOrchestrator.Outcome o = ModuleOrchestrator.executeRecommended(d, List.of(Module.RAID),
                new ModuleOrchestrator.Controls(dst, null, null));
            assertThat(o.option()).isEqualTo(AdditionOption.COPY);
            try (VirtualDisk c = VirtualDisk.open(dst, OpenOptions.defaults())) {
              assertThat(c.info().modules()).containsExactly(Module.RAID);
              assertThat(c.readFile("/hello")).containsExactly(1, 2, 3);
              assertThat(c.verify(dev.vde.Progress.NONE).problems()).isEmpty();
            }
          }
        }
      }
    }
  }
}
