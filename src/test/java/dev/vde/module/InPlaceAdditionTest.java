package dev.vde.module;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.VdeNoSpaceException;
import dev.vde.alloc.FreeSpaceScanner;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.FsModel;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.util.List;
import org.junit.jupiter.api.Test;

class InPlaceAdditionTest {

  private static FsModel fill(VirtualDisk d, int files) throws Exception {
    FsModel m = new FsModel();
    d.mkdir("/docs");
    m.mkdir("/docs");
    for (int i = 0; i < files; i++) {
      byte[] b = SeededBytes.bytes(i, (i * 37) % 9000);
      d.writeFile("/docs/f" + i, b);
      m.writeFile("/docs/f" + i, b);
    }
    return m;
  }

  @Test
  void paddingClaim_addsTransitWithoutRewritingInodes() throws Exception {
    try (TestVolumes.Volume v = TestVolumes.create(4096)) {
      FsModel model = fill(v.disk(), 20);
      long inodeTable = v.disk().volume().regions().find(RegionDirectory.TAG_INODES).start();
      InPlaceAddition.add(v.disk(), List.of(Module.TRANSIT));
      Superblock sb = v.disk().volume().superblock();
      assertThat(Module.fromManifest(sb.moduleManifest())).containsExactly(Module.TRANSIT);
      assertThat(sb.inodeSize()).isEqualTo(320);
      assertThat(sb.layout().fieldFor(Module.TRANSIT).offset()).isEqualTo(304);
      assertThat(v.disk().volume().regions().find(RegionDirectory.TAG_INODES).start()).isEqualTo(inodeTable);
      assertThat(v.disk().readModuleField("/docs/f3", Module.TRANSIT)).containsExactly(0);
      v.disk().writeModuleField("/docs/f3", Module.TRANSIT, new byte[] {7});
      assertThat(v.disk().readModuleField("/docs/f3", Module.TRANSIT)).containsExactly(7);
      assertThat(FsModel.readFrom(v.disk()).diff(model)).isEmpty();
      try (TestVolumes.Volume r = TestVolumes.closeAndVerify(v)) {
        assertThat(r.disk().readModuleField("/docs/f3", Module.TRANSIT)).containsExactly(7);
        assertThat(FsModel.readFrom(r.disk()).diff(model)).isEmpty();
      }
    }
  }

  @Test
  void regionAddition_placesRegionsFirstFitAndMarksThemAllocated() throws Exception {
    try (TestVolumes.Volume v = TestVolumes.create(4096)) {
      FsModel model = fill(v.disk(), 10);
      long freeBefore = v.disk().info().freeBlocks();
      List<RegionDirectory.Entry> placed = InPlaceAddition.add(v.disk(), List.of(Module.INTEGRITY));
      assertThat(placed).hasSize(1);
      RegionDirectory.Entry e = placed.get(0);
      long total = v.disk().volume().superblock().totalBlocks();
      assertThat(e.blocks()).isEqualTo(Module.INTEGRITY.regions().get(0).blocksFor(total));
      assertThat(e.isModuleRegion()).isTrue();
      assertThat(e.moduleId()).isEqualTo(Module.INTEGRITY.id());
      assertThat(v.disk().volume().bitmap().rangeDurablyAllocated(e.start(), e.blocks())).isTrue();
      assertThat(v.disk().info().freeBlocks()).isEqualTo(freeBefore - e.blocks());
      assertThat(v.disk().volume().regions().moduleRegions(Module.INTEGRITY.id())).containsExactly(e);
      assertThat(v.disk().verify(Progress.NONE).problems()).isEmpty();
      try (TestVolumes.Volume r = TestVolumes.closeAndVerify(v)) {
        assertThat(r.disk().info().modules()).containsExactly(Module.INTEGRITY);
        assertThat(FsModel.readFrom(r.disk()).diff(model)).isEmpty();
      }
    }
  }

  @Test
  void moduleWithFieldsAndRegions_getsBothInOneTransaction() throws Exception {
    try (TestVolumes.Volume v = TestVolumes.create(4096)) {
      InPlaceAddition.add(v.disk(), List.of(Module.COMPRESSION));
      assertThat(v.disk().volume().superblock().layout().fieldFor(Module.COMPRESSION)).isNotNull();
      assertThat(v.disk().volume().regions().moduleRegions(Module.COMPRESSION.id())).hasSize(1);
      assertThat(v.disk().volume().superblock().incompat() & Module.COMPRESSION.featureBit()).isNotZero();
      TestVolumes.closeAndVerify(v).close();
    }
  }

  @Test
  void refusals_writeNothing() throws Exception {
    try (TestVolumes.Volume v = TestVolumes.create(4096)) {
      fill(v.disk(), 5);
      InPlaceAddition.add(v.disk(), List.of(Module.TRANSIT));
      v.disk().checkpoint();
      byte[] before = v.device().snapshot();
      assertThatThrownBy(() -> InPlaceAddition.add(v.disk(), List.of(Module.TRANSIT)))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("already active");
      assertThatThrownBy(() -> InPlaceAddition.add(v.disk(), List.of(Module.TAGS)))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("--option migrate");
      assertThat(v.device().snapshot()).isEqualTo(before);
    }
  }

  @Test
  void regionAddition_withoutContiguousSpace_failsBeforeWritingAndNamesLargestRun() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("fragmented");
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(4L << 20).blockSize(4096).inodeCount(2000))) {
      // Fill the volume with one-block files, then free every other one: plenty of space, no long run.
      int i = 0;
      try {
        d.batch(x -> {
          for (int k = 0; k < 2000; k++) {
            x.writeFile("/f" + k, SeededBytes.bytes(k, 100));
          }
        });
      } catch (VdeNoSpaceException full) {
        // expected at some point: the volume is now full
      }
      for (var e : d.list("/")) {
        if (i++ % 2 == 0) {
          d.delete(e.path());
        }
      }
      d.checkpoint();
      long largest = FreeSpaceScanner.largestFreeRun(d.volume().bitmap().allocatableWordsCopy(),
          d.volume().superblock().totalBlocks());
      long need = Module.INTEGRITY.regions().get(0).blocksFor(d.volume().superblock().totalBlocks());
      assertThat(largest).isLessThan(need);
      byte[] before = dev.snapshot();
      assertThatThrownBy(() -> InPlaceAddition.add(d, List.of(Module.INTEGRITY)))
          .isInstanceOf(VdeNoSpaceException.class)
          .hasMessageContaining("largest free run is " + largest + " blocks")
          .hasMessageContaining("need " + need + " blocks");
      assertThat(dev.snapshot()).isEqualTo(before);
    }
  }

  @Test
  void tags_setGetListRemoveAndOverflow() throws Exception {
    try (TestVolumes.Volume v = TestVolumes.create(4096)) {
      v.disk().writeFile("/a", new byte[] {1});
      assertThatThrownBy(() -> Tags.set(v.disk(), "/a", "k", "v"))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("vde module add IMAGE tags");
      // Tags needs 136 inode bytes: not in padding, so it arrives by migration.
      InodeMigration.start(v.disk(), List.of(Module.TAGS), MigrationOptions.defaults());
      Tags.set(v.disk(), "/a", "color", "blue");
      Tags.set(v.disk(), "/a", "owner", "ops");
      Tags.set(v.disk(), "/a", "color", "red");
      assertThat(Tags.list(v.disk(), "/a")).containsExactly(java.util.Map.entry("color", "red"),
          java.util.Map.entry("owner", "ops"));
      assertThat(Tags.get(v.disk(), "/a", "color")).isEqualTo("red");
      assertThat(Tags.remove(v.disk(), "/a", "owner")).isTrue();
      assertThat(Tags.remove(v.disk(), "/a", "owner")).isFalse();
      assertThatThrownBy(() -> Tags.set(v.disk(), "/a", "big", "x".repeat(140)))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("holds 136");
      assertThat(Tags.list(v.disk(), "/a")).containsOnlyKeys("color");
      assertThatThrownBy(() -> Tags.set(v.disk(), "/a", "a=b", "x"))
          .isInstanceOf(VdeInvalidArgumentException.class);
      try (TestVolumes.Volume r = TestVolumes.closeAndVerify(v)) {
        assertThat(Tags.get(r.disk(), "/a", "color")).isEqualTo("red");
      }
    }
  }

  @Test
  void additions_runWhileOtherThreadsReadAndWrite() throws Exception {
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("vde-inplace-");
    java.nio.file.Path img = dir.resolve("live.vde");
    try (VirtualDisk d = VirtualDisk.create(img, CreateOptions.ofSize(32L << 20))) {
      d.mkdir("/w");
      java.util.concurrent.ConcurrentHashMap<String, byte[]> model = new java.util.concurrent.ConcurrentHashMap<>();
      java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
      java.util.List<Throwable> failures = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
      Thread writer = new Thread(() -> {
        try {
          for (int i = 0; !stop.get() && i < 7000; i++) {
            String p = "/w/f" + (i % 50);
            byte[] b = SeededBytes.bytes(i, 1 + i % 7000);
            d.writeFile(p, b);
            model.put(p, b);
          }
        } catch (Throwable t) {
          failures.add(t);
        }
      });
      Thread reader = new Thread(() -> {
        try {
          while (!stop.get()) {
            for (var e : d.list("/w")) {
              // Version i of a file is SeededBytes.bytes(i, 1 + i % 7000) and the writer stays below 7,000
              // versions, so the length names the version: a read must return exactly one whole version.
              byte[] got = d.readFile(e.path());
              assertThat(got).as(e.path()).isEqualTo(SeededBytes.bytes(got.length - 1, got.length));
            }
          }
        } catch (Throwable t) {
          failures.add(t);
        }
      });
      writer.start();
      reader.start();
      for (Module m : List.of(Module.TRANSIT, Module.INTEGRITY, Module.RAID, Module.SNAPSHOT, Module.PRIVACY)) {
        Thread.sleep(20);
        InPlaceAddition.add(d, List.of(m));
      }
      stop.set(true);
      writer.join();
      reader.join();
      assertThat(failures).isEmpty();
      assertThat(d.info().modules()).containsExactlyInAnyOrder(Module.TRANSIT, Module.INTEGRITY, Module.RAID,
          Module.SNAPSHOT, Module.PRIVACY);
      for (var e : model.entrySet()) {
        assertThat(d.readFile(e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
      }
      assertThat(d.verify(Progress.NONE).problems()).isEmpty();
    } finally {
      java.nio.file.Files.deleteIfExists(img);
      java.nio.file.Files.deleteIfExists(dir);
    }
  }
}
