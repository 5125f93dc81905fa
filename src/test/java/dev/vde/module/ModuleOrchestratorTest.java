package dev.vde.module;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.FsModel;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Volumes built so that each of the four options is the right one: the planner picks it and it works. */
class ModuleOrchestratorTest {
  @TempDir
  Path dir;

  private static FsModel fill(VirtualDisk d, int files, int size) throws Exception {
    FsModel m = new FsModel();
    d.mkdir("/data");
    m.mkdir("/data");
    d.batch(x -> {
      for (int i = 0; i < files; i++) {
        byte[] b = SeededBytes.bytes(i, size);
        x.writeFile("/data/f" + i, b);
        m.writeFile("/data/f" + i, b);
      }
    });
    return m;
  }

  private static void assertIntactAndClean(VirtualDisk d, FsModel model) throws Exception {
    assertThat(d.verify(Progress.NONE).problems()).isEmpty();
    assertThat(FsModel.readFrom(d).diff(model)).isEmpty();
  }

  @Test
  void fieldsThatFitInPadding_recommendPaddingClaim() throws Exception {
    try (TestVolumes.Volume v = TestVolumes.create(4096)) {
      FsModel model = fill(v.disk(), 20, 3000);
      ModulePlanner.Analysis a = ModulePlanner.analyze(v.disk(), List.of(Module.RAID, Module.COMPRESSION));
      assertThat(a.options()).extracting(ModulePlanner.OptionAnalysis::option).containsExactly(
          AdditionOption.PADDING, AdditionOption.REGION, AdditionOption.MIGRATE, AdditionOption.COPY);
      assertThat(a.recommended().option()).isEqualTo(AdditionOption.PADDING);
      assertThat(a.option(AdditionOption.PADDING).downtime()).isEqualTo("none");
      ModuleOrchestrator.Outcome o = ModuleOrchestrator.executeRecommended(v.disk(), List.of(Module.RAID,
          Module.COMPRESSION), ModuleOrchestrator.Controls.defaults());
      assertThat(o.option()).isEqualTo(AdditionOption.PADDING);
      assertThat(v.disk().info().modules()).containsExactly(Module.RAID, Module.COMPRESSION);
      assertThat(v.disk().info().inodeSize()).isEqualTo(320);
      assertIntactAndClean(v.disk(), model);
    }
  }

  @Test
  void regionOnlyModule_recommendsRegionAddition() throws Exception {
    try (TestVolumes.Volume v = TestVolumes.create(4096)) {
      FsModel model = fill(v.disk(), 10, 5000);
      ModulePlanner.Analysis a = ModulePlanner.analyze(v.disk(), List.of(Module.SNAPSHOT));
      assertThat(a.option(AdditionOption.PADDING).feasible()).isFalse();
      assertThat(a.option(AdditionOption.MIGRATE).feasible()).as("nothing to grow").isFalse();
      assertThat(a.recommended().option()).isEqualTo(AdditionOption.REGION);
      ModuleOrchestrator.executeRecommended(v.disk(), List.of(Module.SNAPSHOT),
          ModuleOrchestrator.Controls.defaults());
      assertThat(v.disk().volume().regions().moduleRegions(Module.SNAPSHOT.id())).hasSize(1);
      assertIntactAndClean(v.disk(), model);
    }
  }

  @Test
  void fieldsLargerThanPadding_recommendMigrationOfAllModulesAtOnce() throws Exception {
    try (TestVolumes.Volume v = TestVolumes.create(4096)) {
      FsModel model = fill(v.disk(), 40, 1000);
      ModulePlanner.Analysis a = ModulePlanner.analyze(v.disk(), List.of(Module.TAGS, Module.SECURITY));
      assertThat(a.option(AdditionOption.PADDING).reason()).contains("160 inode bytes");
      assertThat(a.recommended().option()).isEqualTo(AdditionOption.MIGRATE);
      ModuleOrchestrator.Outcome o = ModuleOrchestrator.executeRecommended(v.disk(),
          List.of(Module.TAGS, Module.SECURITY), ModuleOrchestrator.Controls.defaults());
      assertThat(o.migration().cancelled()).isFalse();
      assertThat(v.disk().info().modules()).containsExactly(Module.SECURITY, Module.TAGS);
      assertThat(v.disk().info().inodeSize()).as("304 + 24 + 136 = 464, aligned to 64").isEqualTo(512);
      assertIntactAndClean(v.disk(), model);
      try (TestVolumes.Volume r = TestVolumes.closeAndVerify(v)) {
        assertThat(FsModel.readFrom(r.disk()).diff(model)).isEmpty();
      }
    }
  }

  @Test
  void volumeTooFullForASecondInodeTable_recommendsCopy() throws Exception {
    Path src = dir.resolve("full.vde");
    Path dst = dir.resolve("copy.vde");
    FsModel model;
    // Many inodes make a large inode table; filling the data area leaves no run long enough for a second one.
    try (VirtualDisk d = VirtualDisk.create(src, CreateOptions.ofSize(4L << 20).inodeCount(3000))) {
      model = fill(d, 60, 9000);
      long table = d.volume().regions().find(dev.vde.format.RegionDirectory.TAG_INODES).blocks();
      int k = 0;
      while (d.volume().bitmap().largestFreeRun() >= table * 448 / 320 + 1) {
        byte[] b = SeededBytes.bytes(1000 + k, 40_000);
        d.writeFile("/data/pad" + k, b);
        model.writeFile("/data/pad" + k, b);
        k++;
      }
      ModulePlanner.Analysis a = ModulePlanner.analyze(d, List.of(Module.TAGS));
      assertThat(a.option(AdditionOption.MIGRATE).feasible()).isFalse();
      assertThat(a.option(AdditionOption.MIGRATE).reason()).contains("contiguous");
      assertThat(a.recommended().option()).isEqualTo(AdditionOption.COPY);
      assertThat(a.recommended().downtime()).contains("switch-over");
      assertThatThrownBy(() -> ModuleOrchestrator.executeRecommended(d, List.of(Module.TAGS),
          ModuleOrchestrator.Controls.defaults())).isInstanceOf(VdeInvalidArgumentException.class)
          .hasMessageContaining("--to");
      ModuleOrchestrator.Outcome o = ModuleOrchestrator.executeRecommended(d, List.of(Module.TAGS),
          new ModuleOrchestrator.Controls(dst, MigrationOptions.defaults(), dev.vde.module.copy.CopyOptions.defaults()));
      assertThat(o.copy().blocksCopied()).isPositive();
      assertThat(d.info().modules()).as("source unchanged").isEmpty();
    }
    try (VirtualDisk c = VirtualDisk.open(dst, OpenOptions.defaults())) {
      assertThat(c.info().modules()).containsExactly(Module.TAGS);
      assertThat(c.info().inodeSize()).isEqualTo(448);
      assertIntactAndClean(c, model);
    }
  }

  @Test
  void aCopyThatCannotWork_isNotRecommended() throws Exception {
    // A full volume: the copy's larger inode table leaves no room for the data at the same size.
    try (VirtualDisk d = VirtualDisk.create(dir.resolve("fullcopy.vde"), CreateOptions.ofSize(4L << 20))) {
      int k = 0;
      try {
        while (true) {
          d.writeFile("/f" + k, SeededBytes.bytes(k, 40_000));
          k++;
        }
      } catch (dev.vde.VdeNoSpaceException e) {
        // full
      }
      ModulePlanner.Analysis a = ModulePlanner.analyze(d, List.of(Module.TAGS));
      assertThat(a.option(AdditionOption.COPY).feasible()).isFalse();
      assertThat(a.option(AdditionOption.COPY).reason()).contains("does not fit").contains("--size");
      assertThat(a.recommended()).isNull();
    }
    // 512-byte blocks hold inodes of at most 496 bytes: with all modules they no longer fit.
    try (VirtualDisk d = VirtualDisk.create(dir.resolve("small-blocks.vde"), CreateOptions.ofSize(4L << 20)
        .blockSize(512))) {
      ModulePlanner.Analysis a = ModulePlanner.analyze(d, List.of(Module.values()));
      assertThat(a.option(AdditionOption.COPY).feasible()).isFalse();
      assertThat(a.option(AdditionOption.COPY).reason()).contains("do not fit in 512-byte blocks");
    }
  }

  @Test
  @org.junit.jupiter.api.Timeout(60)
  void aMigrationInsideABatch_isRefusedInsteadOfWaitingForever() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(dir.resolve("batch.vde"), CreateOptions.ofSize(4L << 20))) {
      d.batch(x -> {
        x.writeFile("/a", new byte[] {1});
        assertThatThrownBy(() -> InodeMigration.start(x, List.of(Module.TAGS), MigrationOptions.defaults()))
            .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("inside VirtualDisk.batch");
      });
      assertThat(InodeMigration.status(d)).isNull();
      assertThat(d.readFile("/a")).containsExactly(1);
    }
  }

  @Test
  void anEmptyModuleList_isRefusedAsSuch() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(dir.resolve("none.vde"), CreateOptions.ofSize(4L << 20))) {
      assertThatThrownBy(() -> ModuleOrchestrator.executeRecommended(d, List.of(),
          new ModuleOrchestrator.Controls(null, null, null)))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("no modules given");
    }
  }

  /**
   * The orchestrator analyzes with no controls ("the in-place options need none"), but running a migration or a
   * copy without them threw a NullPointerException; so did a null module or option. Null controls are the
   * defaults; a null module or option is refused as such, before anything is written.
   */
  @Test
  void nullControlsAreTheDefaults_andANullModuleOrOptionIsRefusedAsSuch() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(dir.resolve("nulls.vde"), CreateOptions.ofSize(8L << 20))) {
      FsModel model = fill(d, 5, 3000);
      java.util.List<Module> withNull = new java.util.ArrayList<>();
      withNull.add(Module.RAID);
      withNull.add(null);
      assertThatThrownBy(() -> ModuleOrchestrator.executeRecommended(d, withNull, null))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("null");
      assertThatThrownBy(() -> ModuleOrchestrator.execute(d, List.of(Module.RAID), null, null))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("option");
      assertThatThrownBy(() -> ModuleOrchestrator.execute(d, List.of(Module.RAID), AdditionOption.COPY, null))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("destination");
      assertThat(d.info().modules()).isEmpty();

      ModuleOrchestrator.Outcome o = ModuleOrchestrator.executeRecommended(d, List.of(Module.TAGS), null);

      assertThat(o.option()).isEqualTo(AdditionOption.MIGRATE);
      assertThat(d.info().modules()).containsExactly(Module.TAGS);
      assertIntactAndClean(d, model);
    }
  }

  @Test
  void analysisWritesNothing() throws Exception {
    Path img = dir.resolve("a.vde");
    try (VirtualDisk d = VirtualDisk.create(img, CreateOptions.ofSize(8L << 20))) {
      fill(d, 5, 100);
    }
    byte[] before = Files.readAllBytes(img);
    try (VirtualDisk d = VirtualDisk.open(img)) {
      for (Module m : Module.values()) {
        ModulePlanner.analyze(d, List.of(m));
      }
    }
    assertThat(Files.readAllBytes(img)).isEqualTo(before);
  }
}
