package dev.vde.module.copy;

import static dev.vde.module.copy.CopyFixtures.BS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.inode.Inode;
import dev.vde.module.InPlaceAddition;
import dev.vde.testing.SeededBytes;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExtentAwareCopyTest {
  @TempDir
  Path tmp;

  @Test
  void copyWithoutNewModulesIsIdenticalAndMovesOnlyAllocatedDataBlocks() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("dst.vde");
    Map<String, String> before;
    long estimate;
    CopyResult r;
    try (VirtualDisk d = CopyFixtures.create(src, 16L << 20)) {
      CopyFixtures.populate(d);
      before = CopyFixtures.tree(d);
      estimate = ExtentAwareCopy.estimateCopyBlocks(d);
      String srcHash = CopyFixtures.sha256(src);
      r = ExtentAwareCopy.copy(d, dst, CopyOptions.defaults());
      assertThat(CopyFixtures.sha256(src)).as("source untouched").isEqualTo(srcHash);
    }
    assertThat(r.blocksCopied()).isEqualTo(estimate).isPositive();
    assertThat(r.blocksRelocated()).isZero();
    assertThat(r.blocksSkipped()).isEqualTo(r.totalBlocks() - r.blocksCopied());
    assertThat(r.speedupOverNaive()).isGreaterThan(1.0);
    try (VirtualDisk c = VirtualDisk.open(dst)) {
      assertThat(CopyFixtures.tree(c)).isEqualTo(before);
      CopyFixtures.assertClean(c, "copy");
      assertThat(c.info().modules()).isEmpty();
    }
  }

  @Test
  void addingTagsGivesZeroTagFieldsAndKeepsEverythingElse() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("dst.vde");
    Map<String, String> before;
    CopyResult r;
    try (VirtualDisk d = CopyFixtures.create(src, 16L << 20)) {
      CopyFixtures.populate(d);
      before = CopyFixtures.tree(d);
      r = ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().addModule(Module.TAGS).verify(true));
    }
    assertThat(r.verified()).isTrue();
    try (VirtualDisk c = VirtualDisk.open(dst)) {
      assertThat(CopyFixtures.tree(c)).isEqualTo(before);
      CopyFixtures.assertClean(c, "copy with Tags");
      assertThat(c.info().modules()).containsExactly(Module.TAGS);
      InodeLayout layout = c.volume().superblock().layout();
      assertThat(layout).isEqualTo(InodeLayout.canonical(Module.TAGS.bit()));
      assertThat(layout.inodeSize()).isEqualTo(448);
      InodeLayout.Field f = layout.fieldFor(Module.TAGS);
      long live = 0;
      for (long n = 1; n < c.volume().superblock().inodeCount(); n++) {
        Inode ino = c.volume().readInode(n);
        if (!ino.isFree()) {
          live++;
          byte[] area = ino.moduleArea();
          for (int i = f.offset(); i < f.end(); i++) {
            assertThat(area[i - InodeLayout.CORE_SIZE]).as("Tags byte %d of inode %d", i, n).isZero();
          }
        }
      }
      assertThat(live).isEqualTo(r.inodesCopied()).isEqualTo(c.volume().superblock().inodesUsed());
    }
  }

  @Test
  void severalModulesAtOnce() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("dst.vde");
    Map<String, String> before;
    Set<Module> added = EnumSet.of(Module.TRANSIT, Module.SECURITY, Module.COMPRESSION, Module.AUDIT_LOG);
    try (VirtualDisk d = CopyFixtures.create(src, 16L << 20, Module.INTELLIGENCE)) {
      CopyFixtures.populate(d);
      before = CopyFixtures.tree(d);
      ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().modulesToAdd(added).verify(true));
    }
    try (VirtualDisk c = VirtualDisk.open(dst, OpenOptions.readOnlyOptions())) {
      assertThat(CopyFixtures.tree(c)).isEqualTo(before);
      CopyFixtures.assertClean(c, "copy with several modules");
      Set<Module> want = EnumSet.copyOf(added);
      want.add(Module.INTELLIGENCE);
      assertThat(c.info().modules()).containsExactlyInAnyOrderElementsOf(want);
      assertThat(c.volume().superblock().layout()).isEqualTo(InodeLayout.canonical(Module.manifestOf(want)));
    }
  }

  @Test
  void modulesAddedInPlaceKeepTheirFieldsAndTheirDataAreaRegionIsNotCopied() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("dst.vde");
    Map<String, String> before;
    long estimate;
    CopyResult r;
    try (VirtualDisk d = CopyFixtures.create(src, 16L << 20)) {
      d.writeFile("/early", SeededBytes.bytes(1, 5 * CopyFixtures.PAYLOAD));
      // Fields claimed from inode padding (a non-canonical layout) and a Privacy region placed in the data area.
      InPlaceAddition.add(d, List.of(Module.TRANSIT, Module.PRIVACY));
      CopyFixtures.populate(d);
      d.writeModuleField("/early", Module.TRANSIT, new byte[] {7});
      d.writeModuleField("/a/one-block", Module.PRIVACY, new byte[] {1, 2});
      before = CopyFixtures.tree(d);
      estimate = ExtentAwareCopy.estimateCopyBlocks(d);
      r = ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().addModule(Module.TAGS).verify(true));
    }
    assertThat(r.blocksCopied()).isEqualTo(estimate);
    assertThat(r.modulesAdded()).containsExactly(Module.TAGS);
    try (VirtualDisk c = VirtualDisk.open(dst)) {
      assertThat(CopyFixtures.tree(c)).isEqualTo(before);
      CopyFixtures.assertClean(c, "copy of a volume with modules added in place");
      assertThat(c.volume().superblock().layout()).isEqualTo(InodeLayout.canonical(
          Module.manifestOf(List.of(Module.TRANSIT, Module.PRIVACY, Module.TAGS))));
      assertThat(c.readModuleField("/early", Module.TRANSIT)).containsExactly(7);
      assertThat(c.readModuleField("/a/one-block", Module.PRIVACY)).containsExactly(1, 2);
      assertThat(c.readModuleField("/early", Module.TAGS)).containsOnly(0);
      assertThat(c.readModuleField("/a/one-block", Module.TRANSIT)).containsExactly(0);
    }
  }

  @Test
  void hostFileStaysSparse() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("dst.vde");
    CopyResult r;
    try (VirtualDisk d = CopyFixtures.create(src, 64L << 20)) {
      CopyFixtures.populate(d);
      r = ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().addModule(Module.TAGS));
    }
    long allocated = CopyFixtures.allocatedBytes(dst);
    long logical = java.nio.file.Files.size(dst);
    assertThat(logical).isEqualTo(64L << 20);
    // Data plus the metadata the copy writes (4 superblocks' worth, region directory, bitmap, inode table), and
    // some slack for the file system's own granularity.
    long budget = (r.blocksCopied() + 200) * (long) BS;
    assertThat(allocated).as("bytes allocated to the copy").isLessThan(budget);
  }
}
