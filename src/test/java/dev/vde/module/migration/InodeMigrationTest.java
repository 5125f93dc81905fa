package dev.vde.module.migration;

import static dev.vde.module.migration.MigrationFixture.PLAIN_INODE_SIZE;
import static dev.vde.module.migration.MigrationFixture.TAGS;
import static dev.vde.module.migration.MigrationFixture.TAGS_INODE_SIZE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeException;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.VdeNoSpaceException;
import dev.vde.format.InodeLayout;
import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.MigrationCheckpoint.Phase;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.fs.VolumeInfo;
import dev.vde.inode.InodeCodec;
import dev.vde.module.InPlaceAddition;
import dev.vde.module.InodeMigration;
import dev.vde.module.IopsThrottle;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationProgress;
import dev.vde.module.MigrationResult;
import dev.vde.module.Tags;
import dev.vde.module.migration.MigrationFixture.Format;
import dev.vde.module.migration.MigrationFixture.Image;
import dev.vde.testing.FsModel;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.PowerLossDevice.PowerCutException;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Functional behaviour of the online inode migration (option 3) on small in-memory volumes: what a completed
 * migration changes and keeps, cancel/resume/rollback and their refusals, the space pre-flight, pause, and the
 * IOPS throttle.
 */
class InodeMigrationTest {
  private static final int EVERY = 16;

  private static MigrationOptions every(int n) {
    return MigrationOptions.defaults().checkpointEvery(n);
  }

  /** Expected free count after completion: the new table and Tags' region taken, the old table given back. */
  private static long freeAfterCompletion(long freeBefore, InodeMigration.Plan plan) {
    return freeBefore - plan.newTableBlocks() - plan.regionBlocks() + plan.oldTableBlocks();
  }

  // ------------------------------------------------------------------------------------------------ completion

  @Test
  void addingTagsToAVolumeWithoutModules_growsInodesFrom320To448_andKeepsEveryFile() throws IOException {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(4, 50, false));
    PowerLossDevice dev = img.device("plain volume");
    VirtualDisk disk = MigrationFixture.open(dev);
    Format before = MigrationFixture.formatOf(disk);
    assertThat(before.manifest()).as("the volume starts without modules").isZero();
    assertThat(before.inodeSize()).isEqualTo(PLAIN_INODE_SIZE);
    InodeMigration.Plan plan = InodeMigration.plan(disk, TAGS);
    assertThat(plan.feasible()).as("plan: %s", plan.reason()).isTrue();

    MigrationResult r = InodeMigration.start(disk, TAGS, every(EVERY));

    assertThat(r.cancelled()).isFalse();
    assertThat(r.totalInodes()).isEqualTo(plan.inodesToCopy());
    assertThat(r.inodesCopied()).as("a fresh run copies every initialized inode").isEqualTo(plan.inodesToCopy());
    assertThat(r.newLayout().inodeSize()).isEqualTo(TAGS_INODE_SIZE);
    assertCompleted(disk, img.model(), List.of(Module.TAGS), freeAfterCompletion(before.freeBlocks(), plan),
        before.inodeTable(), "right after the migration");
    try (TestVolumes.Volume reopened = TestVolumes.closeAndVerify(new TestVolumes.Volume(dev, disk))) {
      assertCompleted(reopened.disk(), img.model(), List.of(Module.TAGS),
          freeAfterCompletion(before.freeBlocks(), plan), before.inodeTable(), "after close and reopen");
    }
  }

  @Test
  void fieldOfAModuleClaimedFromPadding_survivesTheMigration_atItsNewOffset() throws IOException {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(3, 40, true));
    assertThat(img.transit()).as("the image gives some files a Transit value").isNotEmpty();
    PowerLossDevice dev = img.device("volume with Transit");
    VirtualDisk disk = MigrationFixture.open(dev);
    Format before = MigrationFixture.formatOf(disk);
    InodeLayout.Field oldField = before.layout().fieldFor(Module.TRANSIT);
    assertThat(before.inodeSize()).as("Transit fits in the padding, so no inode grew yet")
        .isEqualTo(PLAIN_INODE_SIZE);
    assertThat(oldField.offset()).as("claimed padding starts right after the core").isEqualTo(InodeLayout.CORE_SIZE);
    InodeMigration.Plan plan = InodeMigration.plan(disk, TAGS);

    InodeMigration.start(disk, TAGS, every(EVERY));

    InodeLayout.Field newField = disk.volume().superblock().layout().fieldFor(Module.TRANSIT);
    // The target layout is canonical: fields in module-id order, so Tags (id 3) now precedes Transit (id 16).
    assertThat(newField.offset()).as("Transit's offset in the 448-byte layout")
        .isEqualTo(InodeLayout.CORE_SIZE + Module.TAGS.inodeBytes());
    assertThat(MigrationFixture.transitDiff(disk, img.transit())).isEmpty();
    assertCompleted(disk, img.model(), List.of(Module.TAGS, Module.TRANSIT),
        freeAfterCompletion(before.freeBlocks(), plan), before.inodeTable(), "right after the migration");
    try (TestVolumes.Volume reopened = TestVolumes.closeAndVerify(new TestVolumes.Volume(dev, disk))) {
      assertThat(MigrationFixture.transitDiff(reopened.disk(), img.transit())).as("after reopen").isEmpty();
      assertCompleted(reopened.disk(), img.model(), List.of(Module.TAGS, Module.TRANSIT),
          freeAfterCompletion(before.freeBlocks(), plan), before.inodeTable(), "after close and reopen");
    }
  }

  /**
   * Everything a completed migration promises: new inode size and modules, Tags fields of existing inodes zero
   * and usable, old table freed (its blocks clear in the bitmap, free count as computed), no pending state left,
   * files intact, verify clean.
   */
  private static void assertCompleted(VirtualDisk disk, FsModel model, List<Module> modules, long expectedFree,
      RegionDirectory.Entry oldTable, String when) throws IOException {
    VolumeInfo info = disk.info();
    assertThat(info.inodeSize()).as("inode size %s", when).isEqualTo(TAGS_INODE_SIZE);
    assertThat(info.modules()).as("modules %s", when).containsExactlyElementsOf(modules);
    assertThat(info.freeBlocks()).as("free blocks %s (old table freed, new table and TIDX taken)", when)
        .isEqualTo(expectedFree);
    RegionDirectory rd = disk.volume().regions();
    assertThat(rd.find(RegionDirectory.TAG_INODES).start()).as("the live table moved %s", when)
        .isNotEqualTo(oldTable.start());
    assertThat(rd.find(RegionDirectory.TAG_INODES_NEW)).as("INOM %s", when).isNull();
    assertThat(rd.find(RegionDirectory.TAG_INODES_OLD)).as("INOO %s", when).isNull();
    assertThat(rd.moduleRegions(Module.TAGS.id())).as("Tags' region %s", when).hasSize(1);
    List<Long> stillAllocated = new ArrayList<>();
    for (long b = oldTable.start(); b < oldTable.end(); b++) {
      if (disk.volume().bitmap().isDurablyAllocated(b)) {
        stillAllocated.add(b);
      }
    }
    assertThat(stillAllocated).as("blocks of the old inode table still allocated %s", when).isEmpty();
    assertThat(InodeMigration.status(disk)).as("status %s", when).isNull();
    assertThat(InodeMigration.isPending(disk)).as("pending %s", when).isFalse();
    assertThat(MigrationFixture.treeDiff(disk, model)).as("tree %s", when).isEmpty();
    List<String> nonZero = new ArrayList<>();
    for (String p : MigrationFixture.allPaths(model)) {
      byte[] f = disk.readModuleField(p, Module.TAGS);
      if (f.length != Tags.FIELD_BYTES || !isZero(f)) {
        nonZero.add(p);
      }
    }
    assertThat(nonZero).as("inodes whose new Tags field is not all zero %s", when).isEmpty();
    assertThat(MigrationFixture.verifyProblems(disk)).as("verify %s", when).isEmpty();
  }

  private static boolean isZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  @Test
  void tagsAddedByMigration_canBeSetAndReadBack_andSurviveReopen() throws IOException {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(2, 20, false));
    PowerLossDevice dev = img.device("tags after migration");
    VirtualDisk disk = MigrationFixture.open(dev);
    InodeMigration.start(disk, TAGS, every(EVERY));
    Tags.set(disk, "/d1/f7", "colour", "blue");
    assertThat(Tags.list(disk, "/d1/f7")).containsExactlyEntriesOf(Map.of("colour", "blue"));
    try (TestVolumes.Volume reopened = TestVolumes.closeAndVerify(new TestVolumes.Volume(dev, disk))) {
      assertThat(Tags.get(reopened.disk(), "/d1/f7", "colour")).isEqualTo("blue");
      assertThat(Tags.list(reopened.disk(), "/d1/f6")).as("a neighbour in the same table block").isEmpty();
    }
  }

  @Test
  void volumeWithEveryInodeInUse_migratesTheWholeTable_includingItsPartialLastBlock() throws IOException {
    // 100 inodes: neither 12 (old per block) nor 9 (new per block) divides it, so both tables end mid-block.
    CreateOptions co = CreateOptions.ofSize(4L << 20).blockSize(4096).inodeCount(100).label("full");
    PowerLossDevice dev = new PowerLossDevice("every inode in use");
    VirtualDisk disk = VirtualDisk.create(dev, co);
    FsModel model = new FsModel();
    disk.mkdir("/d");
    model.mkdir("/d");
    for (int i = 0; ; i++) {
      byte[] data = SeededBytes.bytes(i, 100 + i);
      try {
        disk.writeFile("/d/f" + i, data);
      } catch (VdeNoSpaceException inodesExhausted) {
        break;
      }
      model.writeFile("/d/f" + i, data);
    }
    assertThat(disk.info().inodesUsed()).as("precondition: the inode table is full")
        .isEqualTo(disk.info().inodeCount() - 1);

    MigrationResult r = InodeMigration.start(disk, TAGS, every(EVERY));

    assertThat(r.totalInodes()).as("every inode, not more").isEqualTo(100);
    assertThat(MigrationFixture.treeDiff(disk, model)).isEmpty();
    assertThat(MigrationFixture.verifyProblems(disk)).isEmpty();
    try (TestVolumes.Volume reopened = TestVolumes.closeAndVerify(new TestVolumes.Volume(dev, disk))) {
      assertThat(reopened.disk().info().inodeSize()).isEqualTo(TAGS_INODE_SIZE);
      assertThat(MigrationFixture.treeDiff(reopened.disk(), model)).isEmpty();
    }
  }

  @Test
  void secondMigrationAfterAFirst_movesTheFirstModulesFieldsAgain_andKeepsTheirValues() throws IOException {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(3, 40, false));
    PowerLossDevice dev = img.device("two migrations");
    VirtualDisk disk = MigrationFixture.open(dev);
    InodeMigration.start(disk, TAGS, every(EVERY));
    Tags.set(disk, "/d0/f0", "k", "first");
    Tags.set(disk, "/d2/f39", "k", "last");
    int tagsOffsetBefore = disk.volume().superblock().layout().fieldFor(Module.TAGS).offset();
    // Compliance's 12 bytes do not fit in the 8 bytes of padding left at 448, so it needs a second migration.
    assertThat(disk.volume().superblock().layout().paddingBytes()).isLessThan(Module.COMPLIANCE.inodeBytes());

    MigrationResult r = InodeMigration.start(disk, List.of(Module.COMPLIANCE), every(EVERY));

    assertThat(r.cancelled()).isFalse();
    InodeLayout after = disk.volume().superblock().layout();
    assertThat(after.inodeSize()).as("304 + 12 + 136 rounded up").isEqualTo(512);
    assertThat(after.fieldFor(Module.TAGS).offset()).as("Tags moves behind Compliance (lower module id)")
        .isEqualTo(InodeLayout.CORE_SIZE + Module.COMPLIANCE.inodeBytes()).isNotEqualTo(tagsOffsetBefore);
    assertThat(Tags.get(disk, "/d0/f0", "k")).isEqualTo("first");
    assertThat(Tags.get(disk, "/d2/f39", "k")).isEqualTo("last");
    assertThat(MigrationFixture.treeDiff(disk, img.model())).isEmpty();
    assertThat(MigrationFixture.verifyProblems(disk)).isEmpty();
    try (TestVolumes.Volume reopened = TestVolumes.closeAndVerify(new TestVolumes.Volume(dev, disk))) {
      assertThat(reopened.disk().info().modules()).containsExactly(Module.COMPLIANCE, Module.TAGS);
      assertThat(Tags.get(reopened.disk(), "/d2/f39", "k")).isEqualTo("last");
      assertThat(MigrationFixture.treeDiff(reopened.disk(), img.model())).isEmpty();
    }
  }

  // ------------------------------------------------------------------------------------------------ cancel, rollback

  /** A control cancelled by the listener once {@code fraction} of the inodes are reported copied. */
  private record Cancelling(MigrationControl control, MigrationOptions options, AtomicLong lastReported) {}

  private static Cancelling cancelAfter(double fraction) {
    MigrationControl ctl = new MigrationControl(0, false);
    AtomicLong last = new AtomicLong(-1);
    MigrationOptions o = every(EVERY).control(ctl).listener(p -> {
      last.set(p.migrated());
      if (p.phase() == Phase.COPYING_INODES && p.migrated() >= p.total() * fraction) {
        ctl.cancel();
      }
    });
    return new Cancelling(ctl, o, last);
  }

  @Test
  void cancelFromTheListener_stopsAtACheckpoint_andRollbackRestoresTheExactOriginalFormat() throws IOException {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(4, 50, true));
    PowerLossDevice dev = img.device("rollback");
    VirtualDisk disk = MigrationFixture.open(dev);
    Format original = MigrationFixture.formatOf(disk);
    Cancelling c = cancelAfter(0.3);

    MigrationResult r = InodeMigration.start(disk, TAGS, c.options());

    assertThat(r.cancelled()).isTrue();
    assertThat(r.inodesCopied()).as("stopped part-way").isPositive().isLessThan(r.totalInodes());
    MigrationCheckpoint st = InodeMigration.status(disk);
    assertThat(st).as("a cancelled migration stays pending").isNotNull();
    assertThat(st.phase()).isEqualTo(Phase.COPYING_INODES);
    assertThat(st.inodesMigrated()).as("the checkpoint written on cancel records the copied inodes")
        .isEqualTo(r.inodesCopied());
    assertThat(MigrationFixture.hasRegion(disk, RegionDirectory.TAG_INODES_NEW)).isTrue();
    assertThat(disk.info().freeBlocks()).as("the new table and TIDX are allocated while pending")
        .isLessThan(original.freeBlocks());
    assertThat(MigrationFixture.verifyProblems(disk)).as("verify while the migration is pending").isEmpty();

    InodeMigration.rollback(disk);

    assertThat(MigrationFixture.formatOf(disk)).as("format right after rollback").isEqualTo(original);
    assertOriginalContent(disk, img, "right after rollback");
    assertThatThrownBy(() -> InodeMigration.rollback(disk)).isInstanceOf(VdeInvalidArgumentException.class)
        .hasMessageContaining("no inode migration is pending");
    try (TestVolumes.Volume reopened = TestVolumes.closeAndVerify(new TestVolumes.Volume(dev, disk))) {
      assertThat(MigrationFixture.formatOf(reopened.disk())).as("format after reopen").isEqualTo(original);
      assertOriginalContent(reopened.disk(), img, "after reopen");
    }
  }

  private static void assertOriginalContent(VirtualDisk disk, Image img, String when) throws IOException {
    assertThat(InodeMigration.status(disk)).as("status %s", when).isNull();
    assertThat(InodeMigration.isPending(disk)).as("pending %s", when).isFalse();
    assertThat(MigrationFixture.treeDiff(disk, img.model())).as("tree %s", when).isEmpty();
    assertThat(MigrationFixture.transitDiff(disk, img.transit())).as("Transit %s", when).isEmpty();
    assertThat(MigrationFixture.verifyProblems(disk)).as("verify %s", when).isEmpty();
  }

  @Test
  void aMigrationRolledBack_canBeStartedAgain_andComplete() throws IOException {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(4, 50, true));
    PowerLossDevice dev = img.device("start after rollback");
    VirtualDisk disk = MigrationFixture.open(dev);
    InodeMigration.Plan plan = InodeMigration.plan(disk, TAGS);
    Format original = MigrationFixture.formatOf(disk);
    assertThat(InodeMigration.start(disk, TAGS, cancelAfter(0.6).options()).cancelled()).isTrue();
    InodeMigration.rollback(disk);

    MigrationResult r = InodeMigration.start(disk, TAGS, every(EVERY));

    assertThat(r.cancelled()).isFalse();
    assertThat(r.inodesCopied()).as("a new migration starts from zero").isEqualTo(r.totalInodes());
    assertThat(MigrationFixture.transitDiff(disk, img.transit())).isEmpty();
    assertCompleted(disk, img.model(), List.of(Module.TAGS, Module.TRANSIT),
        freeAfterCompletion(original.freeBlocks(), plan), original.inodeTable(), "after rollback and a second start");
    disk.close();
  }

  @Test
  void aDifferentTargetWhilePending_isRefused_andTheSameTargetResumes() throws IOException {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(4, 50, false));
    VirtualDisk disk = MigrationFixture.open(img.device("other target"));
    MigrationResult first = InodeMigration.start(disk, TAGS, cancelAfter(0.5).options());
    assertThat(first.cancelled()).isTrue();
    Format pending = MigrationFixture.formatOf(disk);

    assertThatThrownBy(() -> InodeMigration.start(disk, List.of(Module.COMPLIANCE), every(EVERY)))
        .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("another inode migration is pending");
    assertThatThrownBy(() -> InPlaceAddition.add(disk, List.of(Module.PRIVACY)))
        .as("adding a module in place while a migration is pending would change the layout under it")
        .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("an inode migration is pending");
    assertThat(MigrationFixture.formatOf(disk)).as("the refusals changed nothing").isEqualTo(pending);

    MigrationResult second = InodeMigration.start(disk, TAGS, every(EVERY));

    assertThat(second.cancelled()).isFalse();
    assertThat(second.migrationId()).as("the same migration continued").isEqualTo(first.migrationId());
    assertThat(second.inodesCopied()).as("resuming copies only what the first run did not")
        .isEqualTo(second.totalInodes() - first.inodesCopied());
    assertThat(disk.info().inodeSize()).isEqualTo(TAGS_INODE_SIZE);
    assertThat(InodeMigration.status(disk)).isNull();
    assertThat(MigrationFixture.treeDiff(disk, img.model())).isEmpty();
    assertThat(MigrationFixture.verifyProblems(disk)).isEmpty();
    disk.close();
  }

  @Test
  void resumeAndRollback_withNothingPending_areRefused() throws IOException {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(1, 5, false));
    try (VirtualDisk disk = MigrationFixture.open(img.device("nothing pending"))) {
      assertThatThrownBy(() -> InodeMigration.resume(disk, every(EVERY)))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("no inode migration is pending");
      assertThatThrownBy(() -> InodeMigration.rollback(disk))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("no inode migration is pending");
    }
  }

  @Test
  void rollbackAfterTheSwapCommitted_isRefused_andResumeFinishesTheMigration() throws IOException {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(4, 50, true));
    // Profile: the write count when the listener hears SWAPPING_REGIONS is the index of the first write after
    // the swap transaction became durable; a crash there leaves a committed swap with the old table unfreed.
    PowerLossDevice probe = img.device("profile");
    VirtualDisk probeDisk = MigrationFixture.open(probe);
    Format original = MigrationFixture.formatOf(probeDisk);
    InodeMigration.Plan plan = InodeMigration.plan(probeDisk, TAGS);
    AtomicLong afterSwap = new AtomicLong(-1);
    InodeMigration.start(probeDisk, TAGS, every(EVERY).listener(p -> {
      if (p.phase() == Phase.SWAPPING_REGIONS) {
        afterSwap.set(probe.writeCount());
      }
    }));
    probeDisk.close();
    assertThat(afterSwap.get()).as("the listener heard the swap").isPositive();

    PowerLossDevice dev = img.device("crash after swap");
    VirtualDisk crashing = MigrationFixture.open(dev);
    dev.crashAt(afterSwap.get());
    assertThatThrownBy(() -> InodeMigration.start(crashing, TAGS, every(EVERY)))
        .isInstanceOf(PowerCutException.class);
    TestVolumes.closeQuietly(crashing);

    PowerLossDevice after = dev.powerLoss(KeepPolicy.NONE);
    VirtualDisk disk = MigrationFixture.open(after);
    assertThat(InodeMigration.isPending(disk)).as("the old table is not freed yet").isTrue();
    assertThat(MigrationFixture.swapCommitted(disk)).isTrue();
    assertThat(disk.info().inodeSize()).as("the swap switched the live table").isEqualTo(TAGS_INODE_SIZE);

    assertThatThrownBy(() -> InodeMigration.rollback(disk)).isInstanceOf(VdeInvalidArgumentException.class)
        .hasMessageContaining("already completed");
    MigrationResult r = InodeMigration.resume(disk, every(EVERY));

    assertThat(r.cancelled()).isFalse();
    assertThat(r.inodesCopied()).as("after the swap only the old table's release is left").isZero();
    assertThat(InodeMigration.status(disk)).isNull();
    assertThat(MigrationFixture.swapCommitted(disk)).isFalse();
    assertThat(disk.info().freeBlocks()).isEqualTo(freeAfterCompletion(original.freeBlocks(), plan));
    assertThat(MigrationFixture.treeDiff(disk, img.model())).isEmpty();
    assertThat(MigrationFixture.transitDiff(disk, img.transit())).isEmpty();
    assertThat(MigrationFixture.verifyProblems(disk)).isEmpty();
    disk.close();
  }

  @Test
  void cancelThenReopen_resumesFromTheCheckpoint_keepingForegroundChangesMadeWhilePending() throws IOException {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(4, 50, true));
    PowerLossDevice dev = img.device("cancel and reopen");
    VirtualDisk disk = MigrationFixture.open(dev);
    MigrationResult first = InodeMigration.start(disk, TAGS, cancelAfter(0.4).options());
    assertThat(first.cancelled()).isTrue();
    FsModel model = img.model().copy();
    Map<String, Byte> transit = new TreeMap<>(img.transit());
    foregroundChanges(disk, model, transit, 1, 2, (byte) 0x41);
    disk.close();

    PowerLossDevice reopenedDev = dev.powerLoss(KeepPolicy.NONE);
    VirtualDisk reopened = MigrationFixture.open(reopenedDev);
    MigrationCheckpoint st = InodeMigration.status(reopened);
    assertThat(st).as("still pending after reopen").isNotNull();
    assertThat(st.inodesMigrated()).as("the watermark of the cancel checkpoint").isEqualTo(first.inodesCopied());
    // After reopen the target is reinstalled at the checkpointed watermark, before anyone resumes.
    foregroundChanges(reopened, model, transit, 2, 4, (byte) 0x42);

    MigrationResult second = InodeMigration.resume(reopened, every(EVERY));

    assertThat(second.cancelled()).isFalse();
    assertThat(second.inodesCopied()).isEqualTo(second.totalInodes() - first.inodesCopied());
    assertThat(reopened.info().inodeSize()).isEqualTo(TAGS_INODE_SIZE);
    assertThat(MigrationFixture.treeDiff(reopened, model)).isEmpty();
    assertThat(MigrationFixture.transitDiff(reopened, transit)).isEmpty();
    try (TestVolumes.Volume v = TestVolumes.closeAndVerify(new TestVolumes.Volume(reopenedDev, reopened))) {
      assertThat(MigrationFixture.treeDiff(v.disk(), model)).as("after a second reopen").isEmpty();
      assertThat(MigrationFixture.transitDiff(v.disk(), transit)).as("after a second reopen").isEmpty();
    }
  }

  /**
   * Overwrites /dN/f1, creates /dN/new-{round}, deletes /dN/f{victim} and sets Transit of /dN/f0 to
   * {@code transitValue}, in /d0 (lowest inode numbers, below the watermark: both tables must be updated) and /d3
   * (highest, above it: the copier reads them later from the old table).
   */
  private static void foregroundChanges(VirtualDisk disk, FsModel model, Map<String, Byte> transit, int round,
      int victim, byte transitValue) throws IOException {
    for (String dir : List.of("/d0", "/d3")) {
      byte[] data = SeededBytes.bytes(round * 31L + dir.hashCode(), 1500);
      disk.writeFile(dir + "/f1", data);
      model.writeFile(dir + "/f1", data);
      disk.writeFile(dir + "/new-" + round, data);
      model.writeFile(dir + "/new-" + round, data);
      disk.delete(dir + "/f" + victim);
      model.delete(dir + "/f" + victim);
      transit.remove(dir + "/f" + victim);
      disk.writeModuleField(dir + "/f0", Module.TRANSIT, new byte[] {transitValue});
      transit.put(dir + "/f0", transitValue);
    }
  }

  // ------------------------------------------------------------------------------------------------ pre-flight

  @Test
  void nearlyFullVolume_isRefusedBeforeAnyWrite_andTheMessageNamesTheCopyOption() throws IOException {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(1, 20, false));
    PowerLossDevice dev = img.device("nearly full");
    VirtualDisk disk = MigrationFixture.open(dev);
    InodeMigration.Plan roomy = InodeMigration.plan(disk, TAGS);
    disk.mkdir("/fill");
    // Fill until less than half the new table would fit, so no arrangement of the free blocks can satisfy it.
    for (int n = 0; disk.info().freeBlocks() > roomy.newTableBlocks() / 2; n++) {
      disk.writeFile("/fill/" + n, SeededBytes.bytes(n, 8 * 4080));
    }
    assertRefusedWithoutWriting(dev, disk);
  }

  @Test
  void fragmentedFreeSpace_enoughBlocksButNoContiguousRun_isRefusedBeforeAnyWrite() throws IOException {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(1, 20, false));
    PowerLossDevice dev = img.device("fragmented");
    VirtualDisk disk = MigrationFixture.open(dev);
    InodeMigration.Plan roomy = InodeMigration.plan(disk, TAGS);
    disk.mkdir("/fill");
    int n = 0;
    // Two-block files side by side until the volume is full, then every other one deleted: plenty of free
    // blocks in total, but in holes of two.
    try {
      for (; ; n++) {
        disk.writeFile("/fill/" + n, SeededBytes.bytes(n, 2 * 4080));
      }
    } catch (VdeNoSpaceException full) {
      // The volume is full; n files were written.
    }
    for (int i = 0; i < n; i += 2) {
      disk.delete("/fill/" + i);
    }
    disk.checkpoint();
    assertThat(disk.info().freeBlocks()).as("precondition: enough free blocks in total")
        .isGreaterThan(roomy.newTableBlocks() + roomy.regionBlocks());
    assertThat(disk.volume().bitmap().largestFreeRun()).as("precondition: no run holds the new table")
        .isLessThan(roomy.newTableBlocks());
    assertRefusedWithoutWriting(dev, disk);
  }

  /** start() must fail with VdeNoSpaceException naming the copy option, having written nothing at all. */
  private static void assertRefusedWithoutWriting(PowerLossDevice dev, VirtualDisk disk) throws IOException {
    InodeMigration.Plan plan = InodeMigration.plan(disk, TAGS);
    assertThat(plan.feasible()).as("precondition: the plan sees no room").isFalse();
    disk.checkpoint();
    byte[] before = dev.snapshot();
    long writesBefore = dev.writeCount();

    assertThatThrownBy(() -> InodeMigration.start(disk, TAGS, every(EVERY)))
        .isInstanceOf(VdeNoSpaceException.class)
        .hasMessageContaining("contiguous")
        .hasMessageContaining("--option copy");

    MigrationFixture.assertRefusedWithoutATrace(dev, disk, before, writesBefore);
    disk.close();
  }

  // ------------------------------------------------------------------------------------------------ live controls

  @Test
  void pauseFromAnotherThread_holdsTheCopyStill_andUnpauseLetsItFinish() throws Exception {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(4, 50, false));
    VirtualDisk disk = MigrationFixture.open(img.device("pause"));
    MigrationControl ctl = new MigrationControl(0, false);
    CountDownLatch firstBatch = new CountDownLatch(1);
    CountDownLatch pausedByMain = new CountDownLatch(1);
    AtomicInteger reports = new AtomicInteger();
    // The listener holds the first report until the main thread has paused, so the pause lands mid-copy however
    // fast the copy is; every later report would prove the copier kept going while paused.
    MigrationOptions opts = every(EVERY).control(ctl).listener(p -> {
      if (reports.incrementAndGet() == 1) {
        firstBatch.countDown();
        awaitUninterruptibly(pausedByMain);
      }
    });
    ExecutorService ex = Executors.newSingleThreadExecutor();
    try {
      Future<MigrationResult> f = ex.submit(() -> InodeMigration.start(disk, TAGS, opts));
      assertThat(firstBatch.await(30, TimeUnit.SECONDS)).as("first batch reported").isTrue();
      ctl.pause();
      pausedByMain.countDown();
      long watermark = disk.volume().migrationTarget().watermark();
      Thread.sleep(400);
      assertThat(f.isDone()).as("the migration finished while paused").isFalse();
      assertThat(reports.get()).as("batches reported while paused").isEqualTo(1);
      assertThat(disk.volume().migrationTarget().watermark()).as("watermark while paused").isEqualTo(watermark);
      // Paused between batches the copier holds no lock, so foreground writes proceed.
      byte[] data = SeededBytes.bytes(77, 3000);
      disk.writeFile("/d0/while-paused", data);
      FsModel model = img.model().copy();
      model.writeFile("/d0/while-paused", data);

      ctl.unpause();
      MigrationResult r = f.get(60, TimeUnit.SECONDS);

      assertThat(r.cancelled()).isFalse();
      assertThat(reports.get()).as("reports after unpause").isGreaterThan(1);
      assertThat(disk.info().inodeSize()).isEqualTo(TAGS_INODE_SIZE);
      assertThat(MigrationFixture.treeDiff(disk, model)).isEmpty();
      assertThat(MigrationFixture.verifyProblems(disk)).isEmpty();
    } finally {
      pausedByMain.countDown();
      ctl.unpause();
      ex.shutdownNow();
      ex.awaitTermination(30, TimeUnit.SECONDS);
      disk.close();
    }
  }

  @Test
  void rollbackFromAnotherThreadWhilePaused_endsThePausedRunWithAnError_andRestoresTheOriginalFormat()
      throws Exception {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(4, 50, true));
    VirtualDisk disk = MigrationFixture.open(img.device("rollback while paused"));
    Format original = MigrationFixture.formatOf(disk);
    MigrationControl ctl = new MigrationControl(0, false);
    CountDownLatch firstBatch = new CountDownLatch(1);
    CountDownLatch pausedByMain = new CountDownLatch(1);
    MigrationOptions opts = every(EVERY).control(ctl).listener(p -> {
      if (firstBatch.getCount() > 0) {
        firstBatch.countDown();
        awaitUninterruptibly(pausedByMain);
      }
    });
    ExecutorService ex = Executors.newSingleThreadExecutor();
    try {
      Future<MigrationResult> f = ex.submit(() -> InodeMigration.start(disk, TAGS, opts));
      assertThat(firstBatch.await(30, TimeUnit.SECONDS)).isTrue();
      ctl.pause();
      pausedByMain.countDown();

      InodeMigration.rollback(disk);
      ctl.unpause();

      assertThatThrownBy(() -> f.get(60, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
          .cause().isInstanceOf(VdeException.class).hasMessageContaining("rolled back");
      assertThat(MigrationFixture.formatOf(disk)).as("format after the rollback and the run's end")
          .isEqualTo(original);
      assertOriginalContent(disk, img, "after the rollback and the run's end");
    } finally {
      pausedByMain.countDown();
      ctl.unpause();
      ex.shutdownNow();
      ex.awaitTermination(30, TimeUnit.SECONDS);
      disk.close();
    }
  }

  private static void awaitUninterruptibly(CountDownLatch l) {
    boolean interrupted = false;
    while (true) {
      try {
        if (!l.await(60, TimeUnit.SECONDS)) {
          throw new AssertionError("the main thread never paused the migration");
        }
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void iopsLimitOf2000_makesTheMigrationTakeAtLeastTheTimeItsBlockIoImplies() throws IOException {
    // ~9000 inodes in 4 KiB blocks: 12 old (320-byte) and 9 new (448-byte) records per block.
    CreateOptions co = CreateOptions.ofSize(64L << 20).blockSize(4096).inodeCount(9200).label("iops");
    PowerLossDevice dev = new PowerLossDevice("iops");
    VirtualDisk disk = VirtualDisk.create(dev, co);
    MigrationFixture.populate(disk, new FsModel(), 90, 100, 0, 5);
    long rate = 2000;
    MigrationControl ctl = new MigrationControl(0, false);
    ctl.setMaxIops(rate);
    assertThat(ctl.maxIops()).isEqualTo(rate);

    long t0 = System.nanoTime();
    MigrationResult r = InodeMigration.start(disk, TAGS, every(500).control(ctl));
    double seconds = (System.nanoTime() - t0) / 1e9;

    long total = r.totalInodes();
    assertThat(total).as("a few thousand inodes").isGreaterThan(8000);
    int oldPer = InodeCodec.perBlock(4096, PLAIN_INODE_SIZE);
    int newPer = InodeCodec.perBlock(4096, TAGS_INODE_SIZE);
    // Every old-table block holding a copied inode is read and every new-table block written at least once.
    long minIos = (total + oldPer - 1) / oldPer + (total + newPer - 1) / newPer;
    // Tokens granted never exceed rate * elapsed plus what the bucket held at the first acquire: at most the
    // larger of a tenth of a second of tokens and one batch's cost (at most 256 new blocks and the old blocks
    // under them). Their sum is allowed for, plus 10% timer slack.
    long burst = rate / 10 + 256 + 256 * newPer / oldPer + 2;
    double lowerBound = 0.9 * (minIos - burst) / rate;
    assertThat(lowerBound).as("the bound is meaningful").isGreaterThan(0.25);
    assertThat(seconds).as("seconds for %d inodes (>= %d block I/Os) at %d IOPS", total, minIos, rate)
        .isGreaterThanOrEqualTo(lowerBound);
    assertThat(r.cancelled()).isFalse();
    assertThat(disk.info().inodeSize()).isEqualTo(TAGS_INODE_SIZE);
    disk.close();
  }

  /**
   * The token bucket refills with {@code (now - last) * rate / 1e9}, and the product is taken in long arithmetic.
   * Once {@code now - last} exceeds 2^63 / rate nanoseconds it wraps negative and the bucket owes billions of
   * tokens: the next operation blocks for up to another 2^63 / rate nanoseconds. At 6e9 IOPS that horizon is
   * 1.54 s, so an idle gap of 1.7 s shows it; at 1,000,000 IOPS it is 2.56 hours, a plausible pause of a
   * migration, after which it would stall for up to 2.56 hours more.
   */
  @Test
  void iopsThrottle_afterAnIdleGapBeyond2Pow63OverRateNanoseconds_grantsTheNextOperationAtOnce() throws Exception {
    long rate = 6_000_000_000L;
    IopsThrottle throttle = new IopsThrottle(rate);
    throttle.acquire(1);
    Thread.sleep(1_700);

    long t0 = System.nanoTime();
    throttle.acquire(1);
    double seconds = (System.nanoTime() - t0) / 1e9;

    assertThat(seconds).as("seconds to get 1 token from a bucket idle for 1.7 s at %d IOPS", rate)
        .isLessThan(0.5);
  }

  // ------------------------------------------------------------------------------------------------ checkpoints by time

  /** A throttled copy of the small volume: batches of 10 new-table blocks (90 inodes), three or more of them. */
  private static MigrationOptions throttled(Duration maxTimeBetweenCheckpoints) {
    return every(1_000_000).maxTimeBetweenCheckpoints(maxTimeBetweenCheckpoints).maxIops(100);
  }

  @Test
  void aThrottledMigration_checkpointsByTime_farFromAnyMultipleOfTheInterval_andACrashResumesFromThere()
      throws IOException {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(4, 50, true));
    PowerLossDevice dev = img.device("checkpoints by time");
    VirtualDisk disk = MigrationFixture.open(dev);
    List<long[]> seen = new ArrayList<>();
    // An interval no batch reaches, and a record due after every batch: any record comes from the time rule.
    MigrationOptions o = throttled(Duration.ofNanos(1)).listener(p -> {
      if (p.phase() == Phase.COPYING_INODES) {
        seen.add(new long[] {p.migrated(), p.total(), InodeMigration.status(disk).inodesMigrated()});
        if (seen.size() == 2) {
          throw new IllegalStateException("power cut after the second batch");
        }
      }
    });

    assertThatThrownBy(() -> InodeMigration.start(disk, TAGS, o)).hasMessageContaining("power cut");

    assertThat(seen).hasSize(2);
    assertThat(seen.get(0)[0]).as("the first batch copied part of the table").isPositive()
        .isLessThan(seen.get(0)[1]);
    for (long[] s : seen) {
      assertThat(s[2]).as("the record written after the batch that reported %d inodes", s[0]).isEqualTo(s[0]);
    }
    // The power fails: only what was synced is left.
    PowerLossDevice after = dev.powerLoss(KeepPolicy.NONE);
    VirtualDisk reopened = MigrationFixture.open(after);
    MigrationCheckpoint st = InodeMigration.status(reopened);
    assertThat(st).isNotNull();
    assertThat(st.phase()).isEqualTo(Phase.COPYING_INODES);
    assertThat(st.inodesMigrated()).as("the last record, written by time").isEqualTo(seen.get(1)[0]);

    MigrationResult rest = InodeMigration.resume(reopened, every(EVERY));

    assertThat(rest.inodesCopied()).as("nothing recorded is copied again").isEqualTo(rest.totalInodes()
        - seen.get(1)[0]);
    assertThat(reopened.info().inodeSize()).isEqualTo(TAGS_INODE_SIZE);
    assertThat(MigrationFixture.treeDiff(reopened, img.model())).isEmpty();
    assertThat(MigrationFixture.transitDiff(reopened, img.transit())).isEmpty();
    try (TestVolumes.Volume v = TestVolumes.closeAndVerify(new TestVolumes.Volume(after, reopened))) {
      assertThat(MigrationFixture.treeDiff(v.disk(), img.model())).as("after reopen").isEmpty();
    }
  }

  @Test
  void withTheTimeRuleOff_aThrottledMigration_writesNoRecordBeforeTheInterval_andStillCompletes()
      throws IOException {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(4, 50, false));
    VirtualDisk disk = MigrationFixture.open(img.device("checkpoints by count only"));
    List<Long> recorded = new ArrayList<>();
    MigrationResult r = InodeMigration.start(disk, TAGS, throttled(null).listener(p -> {
      if (p.phase() == Phase.COPYING_INODES) {
        recorded.add(InodeMigration.status(disk).inodesMigrated());
      }
    }));

    assertThat(r.cancelled()).isFalse();
    assertThat(recorded).as("several batches, none followed by a record").hasSizeGreaterThanOrEqualTo(2)
        .containsOnly(0L);
    assertThat(disk.info().inodeSize()).isEqualTo(TAGS_INODE_SIZE);
    assertThat(MigrationFixture.treeDiff(disk, img.model())).isEmpty();
    disk.close();
  }

  @Test
  void maxTimeBetweenCheckpoints_mustBePositive_orNullForOff() {
    assertThat(MigrationOptions.defaults().maxTimeBetweenCheckpoints())
        .isEqualTo(MigrationOptions.DEFAULT_MAX_TIME_BETWEEN_CHECKPOINTS);
    assertThat(MigrationOptions.defaults().maxTimeBetweenCheckpoints(null).maxTimeBetweenCheckpoints()).isNull();
    assertThatThrownBy(() -> MigrationOptions.defaults().maxTimeBetweenCheckpoints(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must be positive");
    assertThatThrownBy(() -> MigrationOptions.defaults().maxTimeBetweenCheckpoints(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void progressReports_areMonotonic_andEndWithComplete() throws IOException {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(4, 50, false));
    VirtualDisk disk = MigrationFixture.open(img.device("progress"));
    List<MigrationProgress> seen = new ArrayList<>();
    MigrationResult r = InodeMigration.start(disk, TAGS, every(EVERY).listener(seen::add));
    assertThat(seen).isNotEmpty();
    assertThat(seen.get(seen.size() - 1).phase()).isEqualTo(Phase.COMPLETE);
    assertThat(seen.get(seen.size() - 1).migrated()).isEqualTo(r.totalInodes());
    long prev = -1;
    for (MigrationProgress p : seen) {
      assertThat(p.migrated()).as("migrated never goes down: %s", seen).isGreaterThanOrEqualTo(prev);
      assertThat(p.migrated()).isLessThanOrEqualTo(p.total());
      prev = p.migrated();
    }
    assertThat(seen.stream().filter(p -> p.phase() == Phase.COPYING_INODES).count())
        .as("one report per batch; batches end at checkpoints, so at least total/checkpointEvery - 1")
        .isGreaterThanOrEqualTo(r.totalInodes() / EVERY - 1);
    disk.close();
  }
}
