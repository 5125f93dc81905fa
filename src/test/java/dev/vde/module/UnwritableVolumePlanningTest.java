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
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

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
}
