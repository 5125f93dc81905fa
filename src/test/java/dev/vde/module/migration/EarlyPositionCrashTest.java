package dev.vde.module.migration;

import static dev.vde.module.migration.MigrationFixture.TAGS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.MigrationCheckpoint.Phase;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationResult;
import dev.vde.module.migration.MigrationFixture.Image;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Positions taken early, between two multiples of N/3, when the sync before has returned (InodeMigration): they
 * write records in the same order as the others, so a cut at any write of the copy must leave a volume that reopens
 * at a record no more than N inodes behind the last progress reported, resumes and rolls back to the right files.
 * With 512-byte blocks one 448-byte inode fills a block, so a batch (256 blocks) is far shorter than N/3 and
 * positions come both early and at the multiples. Whether a sync has returned at a batch's end depends on the
 * sync thread, so the writes of two runs may differ; a cut past the end of a shorter run is skipped.
 */
class EarlyPositionCrashTest {
  private static final int EVERY = 1800;
  private static final long SEED = Long.getLong("vde.migration.seed", 0xEA_21L);

  private static Image image() throws IOException {
    return MigrationFixture.build(new MigrationFixture.Spec(
        CreateOptions.ofSize(8L << 20).blockSize(512).inodeCount(3200).label("early"), 40, 70, 200, false, 5));
  }

  @Test
  void earlyPositionsWriteRecords_andACutAtAnyWriteOfTheCopyRecovers() throws IOException {
    Image img = image();
    // A clean run first: the copy phase's writes, and that records were written between the multiples of N/3.
    PowerLossDevice profile = img.device("profile");
    VirtualDisk pd = MigrationFixture.open(profile);
    AtomicLong first = new AtomicLong(-1);
    AtomicLong swap = new AtomicLong(-1);
    List<Long> records = new ArrayList<>();
    MigrationResult clean = InodeMigration.start(pd, TAGS, MigrationOptions.defaults().checkpointEvery(EVERY)
        .listener(p -> {
          if (p.phase() == Phase.COPYING_INODES) {
            if (first.get() < 0) {
              first.set(profile.writeCount() - 1);
            }
            MigrationCheckpoint c = InodeMigration.status(pd);
            if (c != null && (records.isEmpty() || records.get(records.size() - 1) != c.inodesMigrated())) {
              records.add(c.inodesMigrated());
            }
          } else if (p.phase() == Phase.SWAPPING_REGIONS) {
            swap.set(profile.writeCount());
          }
        }));
    pd.close();
    assertThat(clean.totalInodes()).isGreaterThan(4 * EVERY / 3);
    assertThat(records).as("durable records seen while copying").anyMatch(w -> w > 0 && w % (EVERY / 3) != 0);

    List<String> failures = new ArrayList<>();
    int cases = 0;
    for (long i = first.get(); i < swap.get(); i++) {
      PowerLossDevice dev = img.device("early");
      VirtualDisk disk = MigrationFixture.open(dev);
      AtomicLong highest = new AtomicLong();
      dev.crashAt(i);
      try {
        InodeMigration.start(disk, TAGS, MigrationOptions.defaults().checkpointEvery(EVERY).listener(p -> {
          if (p.phase() == Phase.COPYING_INODES) {
            highest.accumulateAndGet(p.migrated(), Math::max);
          }
        }));
      } catch (IOException expected) {
        // The cut.
      } finally {
        TestVolumes.closeQuietly(disk);
      }
      if (!dev.isCut()) {
        continue;
      }
      long seed = new SplittableRandom(SEED ^ i * 0x9E3779B97F4A7C15L).nextLong();
      for (KeepPolicy policy : List.of(KeepPolicy.NONE, KeepPolicy.randomSubset(seed))) {
        cases++;
        String ctx = "crash index " + i + " policy " + policy + ", reported " + highest.get();
        failures.addAll(check(dev.powerLoss(policy), img, highest.get(), true, ctx + ", resume"));
        failures.addAll(check(dev.powerLoss(policy), img, highest.get(), false, ctx + ", rollback"));
      }
    }
    assertThat(cases).isGreaterThan(20);
    assertThat(failures).as("failures of %d cases", cases).isEmpty();
  }

  private static List<String> check(PowerLossDevice image, Image img, long reported, boolean resumeIt, String ctx) {
    boolean resume = resumeIt;
    List<String> out = new ArrayList<>();
    VirtualDisk disk = null;
    try {
      disk = MigrationFixture.open(image);
      MigrationCheckpoint st = InodeMigration.status(disk);
      if (st == null) {
        out.add(ctx + ": no pending migration after reopen");
        return out;
      }
      if (st.inodesMigrated() < reported - EVERY) {
        out.add(ctx + ": reopened at " + st.inodesMigrated() + ", more than " + EVERY + " behind");
      }
      if (!resume && MigrationFixture.swapCommitted(disk)) {
        // The runs' writes differ, so a cut may come after this run's swap: rollback is refused, resume finishes.
        VirtualDisk swapped = disk;
        assertThatThrownBy(() -> InodeMigration.rollback(swapped)).isInstanceOf(VdeInvalidArgumentException.class);
        resume = true;
      }
      if (resume) {
        InodeMigration.resume(disk, MigrationOptions.defaults().checkpointEvery(EVERY));
        assertThat(disk.volume().superblock().inodeSize()).isEqualTo(MigrationFixture.TAGS_INODE_SIZE);
      } else {
        InodeMigration.rollback(disk);
        assertThat(disk.volume().superblock().inodeSize()).isEqualTo(320);
      }
      if (InodeMigration.isPending(disk)) {
        out.add(ctx + ": still pending");
      }
      out.addAll(MigrationFixture.treeDiff(disk, img.model()).stream().map(d -> ctx + ": " + d).toList());
      out.addAll(MigrationFixture.verifyProblems(disk).stream().map(d -> ctx + ": verify: " + d).toList());
    } catch (IOException | RuntimeException | AssertionError e) {
      out.add(ctx + ": " + e);
    } finally {
      TestVolumes.closeQuietly(disk);
    }
    return out;
  }
}
