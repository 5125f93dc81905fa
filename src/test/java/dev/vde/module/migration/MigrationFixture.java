package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.check.VerifyReport;
import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InPlaceAddition;
import dev.vde.module.InodeMigration;
import dev.vde.testing.FsModel;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Shared setup and checks of the migration tests: populated pre-migration images, the format facts a migration
 * or a rollback must change or restore, and comparisons of a volume with its expected content.
 */
final class MigrationFixture {
  /** The module every test adds by migration: 136 inode bytes, far more than the 16 bytes of padding. */
  static final List<Module> TAGS = List.of(Module.TAGS);
  /** A volume without modules: the 304-byte core rounded up to 64. */
  static final int PLAIN_INODE_SIZE = 320;
  /** With Tags: 304 + 136 = 440, rounded up to 448. */
  static final int TAGS_INODE_SIZE = 448;

  private MigrationFixture() {}

  /**
   * The parts of the on-disk format a migration changes and a rollback must restore exactly.
   *
   * @param inodeTable the region-directory entry of the live inode table (INOD)
   * @param freeBlocks the bitmap's durable free count, which {@code info()} reports
   */
  record Format(long manifest, long incompat, InodeLayout layout, int inodeSize, RegionDirectory.Entry inodeTable,
      long freeBlocks, List<RegionDirectory.Entry> regions) {}

  static Format formatOf(VirtualDisk disk) throws IOException {
    Superblock sb = disk.volume().superblock();
    RegionDirectory rd = disk.volume().regions();
    return new Format(sb.moduleManifest(), sb.incompat(), sb.layout(), sb.inodeSize(),
        rd.find(RegionDirectory.TAG_INODES), disk.info().freeBlocks(), List.copyOf(rd.entries()));
  }

  static boolean hasRegion(VirtualDisk disk, int tag) {
    return disk.volume().regions().find(tag) != null;
  }

  /** True when the migration's region swap has committed: the old table is kept as region INOO until freed. */
  static boolean swapCommitted(VirtualDisk disk) {
    return hasRegion(disk, RegionDirectory.TAG_INODES_OLD);
  }

  // ------------------------------------------------------------------------------------------------ images

  /**
   * A closed, populated pre-migration volume: its bytes, its tree, and the Transit value of every file that has
   * one (Transit is claimed from padding first, so the migration must move an existing field).
   */
  record Image(byte[] bytes, FsModel model, Map<String, Byte> transit) {
    PowerLossDevice device(String name) {
      return PowerLossDevice.fromImage(name, bytes);
    }
  }

  /** What to put on a pre-migration volume. */
  record Spec(CreateOptions create, int dirs, int filesPerDir, int maxFileBytes, boolean withTransit, long seed) {}

  /** Spec of a small volume: 4 MiB, 4 KiB blocks, 512 inodes. */
  static Spec smallSpec(int dirs, int filesPerDir, boolean withTransit) {
    return smallSpec(4096, dirs, filesPerDir, withTransit);
  }

  /** Spec of a small volume of 4 MiB and 512 inodes with the given block size. */
  static Spec smallSpec(int blockSize, int dirs, int filesPerDir, boolean withTransit) {
    return new Spec(CreateOptions.ofSize(4L << 20).blockSize(blockSize).inodeCount(512).label("migration"), dirs,
        filesPerDir, 3000, withTransit, 0x1A7E_5EEDL);
  }

  /** Builds the image of {@code spec} on a power-loss device and closes it cleanly. */
  static Image build(Spec spec) throws IOException {
    PowerLossDevice dev = new PowerLossDevice("pre-migration image");
    FsModel model = new FsModel();
    Map<String, Byte> transit = new TreeMap<>();
    try (VirtualDisk disk = VirtualDisk.create(dev, spec.create())) {
      populate(disk, model, spec.dirs(), spec.filesPerDir(), spec.maxFileBytes(), spec.seed());
      if (spec.withTransit()) {
        InPlaceAddition.add(disk, List.of(Module.TRANSIT));
        int k = 0;
        for (String f : model.files().keySet()) {
          // Every third file gets a distinct non-zero value; the others keep the initial zero.
          if (k++ % 3 == 0) {
            byte v = (byte) (1 + k % 250);
            disk.writeModuleField(f, Module.TRANSIT, new byte[] {v});
            transit.put(f, v);
          }
        }
      }
    }
    return new Image(dev.snapshot(), model, transit);
  }

  /**
   * Creates {@code dirs} directories /d0.. with {@code filesPerDir} files each, of 0..maxFileBytes pseudo-random
   * bytes; one batch per directory keeps the setup fast.
   */
  static void populate(VirtualDisk disk, FsModel model, int dirs, int filesPerDir, int maxFileBytes, long seed)
      throws IOException {
    for (int d = 0; d < dirs; d++) {
      String dir = "/d" + d;
      disk.mkdir(dir);
      model.mkdir(dir);
      int dd = d;
      disk.batch(x -> {
        for (int f = 0; f < filesPerDir; f++) {
          long s = seed * 1_000_003L + dd * 10_007L + f;
          byte[] data = SeededBytes.bytes(s, (int) Math.floorMod(s * 0x9E3779B97F4A7C15L, (long) maxFileBytes + 1));
          String path = dir + "/f" + f;
          x.writeFile(path, data);
          model.writeFile(path, data);
        }
      });
    }
  }

  static VirtualDisk open(PowerLossDevice dev) throws IOException {
    return VirtualDisk.open(dev, OpenOptions.defaults());
  }

  // ------------------------------------------------------------------------------------------------ checks

  /** Differences between the volume's tree and {@code model}; empty when equal. */
  static List<String> treeDiff(VirtualDisk disk, FsModel model) throws IOException {
    return FsModel.readFrom(disk).diff(model);
  }

  /** Transit values that differ from {@code expected} (paths missing from the volume are reported too). */
  static List<String> transitDiff(VirtualDisk disk, Map<String, Byte> expected) throws IOException {
    List<String> out = new ArrayList<>();
    for (Map.Entry<String, Byte> e : expected.entrySet()) {
      if (!disk.exists(e.getKey())) {
        out.add("Transit: " + e.getKey() + " is missing");
        continue;
      }
      byte[] f = disk.readModuleField(e.getKey(), Module.TRANSIT);
      if (f.length != 1 || f[0] != e.getValue()) {
        out.add("Transit field of " + e.getKey() + " is " + (f.length == 1 ? f[0] : "of " + f.length + " bytes")
            + ", expected " + e.getValue());
      }
    }
    return out;
  }

  /** Verify problems as one line each; empty when clean. */
  static List<String> verifyProblems(VirtualDisk disk) throws IOException {
    VerifyReport r = disk.verify(Progress.NONE);
    List<String> out = new ArrayList<>();
    if (!r.clean()) {
      out.add("verify: " + TestVolumes.describe(r.problems()));
    }
    return out;
  }

  /**
   * Asserts that a refused start left the volume as it was: no write issued since {@code writesBefore}, the same
   * bytes as {@code before}, no migration pending, and a clean check.
   */
  static void assertRefusedWithoutATrace(PowerLossDevice dev, VirtualDisk disk, byte[] before, long writesBefore)
      throws IOException {
    assertThat(dev.writeCount()).as("writes issued by the refused start").isEqualTo(writesBefore);
    assertThat(dev.snapshot()).as("the volume's bytes after the refusal").isEqualTo(before);
    assertThat(InodeMigration.isPending(disk)).isFalse();
    assertThat(verifyProblems(disk)).isEmpty();
  }

  /** Paths of every file and directory of the model, and the root. */
  static List<String> allPaths(FsModel model) {
    List<String> out = new ArrayList<>();
    out.add("/");
    out.addAll(model.dirs());
    out.addAll(model.files().keySet());
    return out;
  }
}
