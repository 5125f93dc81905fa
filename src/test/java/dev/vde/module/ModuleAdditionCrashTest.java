package dev.vde.module;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.vde.Progress;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.FsModel;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Padding claim and region addition under power loss at every write index: the module addition and the close
 * that checkpoints it. After each crash the volume reopens as exactly the old format or exactly the new one, the
 * verifier is clean and every file is intact.
 */
class ModuleAdditionCrashTest {

  /** The cases: a field-only module (padding), a region-only module (region), and one needing both. */
  enum Case {
    PADDING(Module.TRANSIT),
    REGION(Module.INTEGRITY),
    BOTH(Module.COMPRESSION);

    final Module module;

    Case(Module m) {
      this.module = m;
    }
  }

  private static final int BS = 512;

  private record Base(byte[] image, FsModel model) {}

  private static Base base() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("base");
    FsModel model = new FsModel();
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(2L << 20).blockSize(BS))) {
      d.mkdir("/d");
      model.mkdir("/d");
      for (int i = 0; i < 12; i++) {
        byte[] b = SeededBytes.bytes(100 + i, i * 200);
        d.writeFile("/d/f" + i, b);
        model.writeFile("/d/f" + i, b);
      }
    }
    return new Base(dev.snapshot(), model);
  }

  private static List<KeepPolicy> policies(long seed) {
    List<KeepPolicy> ps = new ArrayList<>();
    ps.add(KeepPolicy.NONE);
    ps.add(KeepPolicy.ALL);
    for (int s = 0; s < 3; s++) {
      ps.add(KeepPolicy.randomBlocks(BS, seed * 31 + s));
    }
    ps.add(KeepPolicy.torn(0, seed));
    return ps;
  }

  @ParameterizedTest
  @EnumSource(Case.class)
  void additionAndClose_areAtomicAtEveryWriteIndex(Case c) throws Exception {
    Base base = base();
    // Count the writes of the whole scripted operation: open, add, close.
    PowerLossDevice probe = PowerLossDevice.fromImage("probe", base.image());
    long startWrites;
    try (VirtualDisk d = VirtualDisk.open(probe, OpenOptions.defaults())) {
      startWrites = probe.writeCount();
      InPlaceAddition.add(d, List.of(c.module));
    }
    long total = probe.writeCount() - startWrites;
    assertThat(total).isPositive();
    int states = 0;
    for (long i = 0; i < total; i++) {
      PowerLossDevice dev = PowerLossDevice.fromImage("crash " + c + " at " + i, base.image());
      VirtualDisk d = VirtualDisk.open(dev, OpenOptions.defaults());
      dev.crashAt(dev.writeCount() + i);
      try {
        InPlaceAddition.add(d, List.of(c.module));
        d.close();
        fail("power cut at write " + i + " did not happen");
      } catch (java.io.IOException expected) {
        // The operation or the close was cut short; the engine may wrap the cut in its own exception.
        assertThat(dev.isCut()).as("failure at write " + i + " must be the power cut: " + expected).isTrue();
      }
      for (KeepPolicy p : policies(i)) {
        states++;
        PowerLossDevice after = dev.powerLoss(p);
        String ctx = c + " crash at write " + i + " of " + total + ", policy " + p;
        try (VirtualDisk r = VirtualDisk.open(after, OpenOptions.defaults())) {
          TestVolumes.assertClean(r.verify(Progress.NONE), ctx);
          assertThat(FsModel.readFrom(r).diff(base.model())).as(ctx).isEmpty();
          Superblock sb = r.volume().superblock();
          boolean added = (sb.moduleManifest() & c.module.bit()) != 0;
          List<RegionDirectory.Entry> regions = r.volume().regions().moduleRegions(c.module.id());
          if (added) {
            assertThat(regions).as(ctx).hasSize(c.module.regions().size());
            assertThat(sb.layout().fieldFor(c.module) != null).as(ctx).isEqualTo(c.module.inodeBytes() > 0);
          } else {
            assertThat(sb.moduleManifest()).as(ctx).isZero();
            assertThat(regions).as(ctx).isEmpty();
            assertThat(sb.layout().fields()).as(ctx).isEmpty();
          }
        } catch (Exception e) {
          throw new AssertionError(ctx + ": " + e, e);
        }
      }
    }
    assertThat(states).isGreaterThan(0);
  }
}
