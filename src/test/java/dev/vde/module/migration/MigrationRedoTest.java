package dev.vde.module.migration;

import static dev.vde.module.migration.MigrationFixture.TAGS;
import static org.assertj.core.api.Assertions.assertThat;

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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The checkpoint promise: a crash while inodes are being copied costs at most one checkpoint interval of
 * copying again. Every write the copy phase issues is a crash point; the listener records the highest
 * {@code migrated} it heard before the cut. The copy takes a position every third of N and a report of M follows,
 * at the latest position up to M, the wait for the sync that made the record two positions back durable; so the
 * reopened checkpoint must be at least M - N and the resumed run may copy at most total - M + N inodes.
 */
class MigrationRedoTest {
  private static final long SEED = Long.getLong("vde.migration.seed", 0x4D16_C0DEL);

  /** 8 x 55 files plus directories: about 450 initialized inodes, so N=16 and N=50 both give many intervals. */
  private static Image image() throws IOException {
    return MigrationFixture.build(new MigrationFixture.Spec(
        CreateOptions.ofSize(4L << 20).blockSize(4096).inodeCount(512).label("redo"), 8, 55, 1500, false, 11));
  }

  /** Write indices of the copy phase, from the write of the first batch to the last write before the swap. */
  private record CopyPhase(long first, long end, long total) {}

  private static CopyPhase profile(Image img, int every) throws IOException {
    PowerLossDevice dev = img.device("profile");
    VirtualDisk disk = MigrationFixture.open(dev);
    AtomicLong firstReport = new AtomicLong(-1);
    AtomicLong swapReport = new AtomicLong(-1);
    MigrationResult r = InodeMigration.start(disk, TAGS, MigrationOptions.defaults().checkpointEvery(every)
        .listener(p -> {
          if (p.phase() == Phase.COPYING_INODES && firstReport.get() < 0) {
            // The first report follows the first batch's single new-table write.
            firstReport.set(dev.writeCount() - 1);
          } else if (p.phase() == Phase.SWAPPING_REGIONS) {
            swapReport.set(dev.writeCount());
          }
        }));
    disk.close();
    assertThat(firstReport.get()).as("copy phase reported").isPositive();
    assertThat(swapReport.get()).isGreaterThan(firstReport.get());
    return new CopyPhase(firstReport.get(), swapReport.get(), r.totalInodes());
  }

  @ParameterizedTest(name = "checkpointEvery={0}")
  @ValueSource(ints = {16, 50})
  void crashAnywhereInTheCopy_costsAtMostOneCheckpointIntervalOfRedoneWork(int every) throws IOException {
    Image img = image();
    CopyPhase phase = profile(img, every);
    List<String> failures = new ArrayList<>();
    int cases = 0;
    long largestReported = 0;
    for (long i = phase.first(); i < phase.end(); i++) {
      PowerLossDevice dev = img.device("redo");
      VirtualDisk disk = MigrationFixture.open(dev);
      AtomicLong highest = new AtomicLong(0);
      dev.crashAt(i);
      try {
        InodeMigration.start(disk, TAGS, MigrationOptions.defaults().checkpointEvery(every).listener(p -> {
          if (p.phase() == Phase.COPYING_INODES) {
            highest.accumulateAndGet(p.migrated(), Math::max);
          }
        }));
        failures.add("crash index " + i + ": the migration finished although the power was cut");
        continue;
      } catch (IOException expected) {
        // The cut; only whether it really happened matters below.
      } finally {
        TestVolumes.closeQuietly(disk);
      }
      if (!dev.isCut()) {
        failures.add("crash index " + i + ": the migration failed without reaching the cut");
        continue;
      }
      long reported = highest.get();
      largestReported = Math.max(largestReported, reported);
      long seed = new SplittableRandom(SEED ^ i * 0x9E3779B97F4A7C15L).nextLong();
      for (KeepPolicy policy : List.of(KeepPolicy.NONE, KeepPolicy.randomSubset(seed))) {
        cases++;
        String ctx = "checkpointEvery=" + every + " crash index " + i + " policy " + policy + ", last report before"
            + " the cut migrated=" + reported;
        failures.addAll(checkRedo(dev.powerLoss(policy), img, every, reported, phase.total(), ctx));
      }
    }
    assertThat(largestReported).as("some cuts came late in the copy, so the bound was tested where it bites")
        .isGreaterThan(phase.total() / 2);
    assertThat(cases).isGreaterThan(10);
    assertThat(failures).as("failures of %d cases", cases).isEmpty();
  }

  private static List<String> checkRedo(PowerLossDevice image, Image img, int every, long reported, long total,
      String ctx) {
    List<String> out = new ArrayList<>();
    VirtualDisk disk = null;
    try {
      disk = MigrationFixture.open(image);
      MigrationCheckpoint st = InodeMigration.status(disk);
      if (st == null) {
        out.add(ctx + ": no pending migration after reopen");
        return out;
      }
      if (st.inodesMigrated() < reported - every) {
        out.add(ctx + ": reopened checkpoint has inodesMigrated=" + st.inodesMigrated() + " < " + reported + " - "
            + every);
      }
      MigrationResult r = InodeMigration.resume(disk, MigrationOptions.defaults().checkpointEvery(every));
      if (r.totalInodes() != total) {
        out.add(ctx + ": resume counted " + r.totalInodes() + " inodes, the uninterrupted run " + total);
      }
      if (r.inodesCopied() > r.totalInodes() - reported + every) {
        out.add(ctx + ": resume copied " + r.inodesCopied() + " inodes, more than total " + r.totalInodes() + " - "
            + reported + " + " + every);
      }
      if (r.cancelled() || InodeMigration.isPending(disk)) {
        out.add(ctx + ": resume did not complete");
      }
      for (String d : MigrationFixture.treeDiff(disk, img.model())) {
        out.add(ctx + ": after resume: " + d);
      }
    } catch (IOException | RuntimeException e) {
      out.add(ctx + ": " + e);
    } finally {
      TestVolumes.closeQuietly(disk);
    }
    return out;
  }
}
