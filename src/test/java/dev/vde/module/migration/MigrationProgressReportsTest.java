package dev.vde.module.migration;

import static dev.vde.module.migration.MigrationFixture.TAGS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.MigrationCheckpoint.Phase;
import dev.vde.format.RegionDirectory;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationProgress;
import dev.vde.module.migration.MigrationFixture.Image;
import dev.vde.testing.PowerLossDevice;
import dev.vde.fs.CreateOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a migration's listener hears: where a run starts, every batch, and how it ends. */
class MigrationProgressReportsTest {
  private static final int BS = 4096;

  @TempDir
  Path dir;

  /** Records both kinds of report, in order; a start is recorded with the phase name prefixed by "start:". */
  private static final class Recorder implements MigrationProgress.Listener {
    final List<MigrationProgress> starts = new ArrayList<>();
    final List<MigrationProgress> reports = new ArrayList<>();

    @Override
    public void onStart(MigrationProgress p) {
      starts.add(p);
    }

    @Override
    public void onProgress(MigrationProgress p) {
      reports.add(p);
    }
  }

  private static void assertSane(List<MigrationProgress> ps) {
    for (MigrationProgress p : ps) {
      assertThat(p.percent()).as("percent of %s", p).isBetween(0.0, 100.0);
      assertThat(p.inodesPerSecond()).as("rate of %s", p).isNotNaN().isFinite().isGreaterThanOrEqualTo(0);
      assertThat(p.etaSeconds()).as("ETA of %s", p).isNotNaN().isFinite().isGreaterThanOrEqualTo(-1);
      assertThat(p.migrated()).as("migrated of %s", p).isBetween(0L, p.total());
    }
  }

  // A resume once the swap had committed only freed the old table, and its listener heard nothing at all.
  @Test
  void aResumeAfterTheSwap_reportsItsStartAndItsCompletion() throws IOException {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(BS, 2, 10, false));
    PowerLossDevice dev = img.device("after the swap");
    VirtualDisk disk = MigrationFixture.open(dev);
    byte[][] afterSwap = {null};
    InodeMigration.start(disk, TAGS, MigrationOptions.defaults().listener(p -> {
      if (p.phase() == Phase.SWAPPING_REGIONS && afterSwap[0] == null) {
        afterSwap[0] = dev.durableSnapshot();
      }
    }));
    disk.close();

    try (VirtualDisk re = MigrationFixture.open(PowerLossDevice.fromImage(afterSwap[0]))) {
      assertThat(re.volume().regions().find(RegionDirectory.TAG_INODES_OLD)).as("the swap committed").isNotNull();
      Recorder heard = new Recorder();
      InodeMigration.resume(re, MigrationOptions.defaults().listener(heard));

      assertThat(heard.starts).as("the start").singleElement()
          .satisfies(p -> assertThat(p.migrated()).isEqualTo(p.total()).isPositive());
      assertThat(heard.reports).as("the reports").isNotEmpty();
      MigrationProgress last = heard.reports.get(heard.reports.size() - 1);
      assertThat(last.phase()).isEqualTo(Phase.COMPLETE);
      assertThat(last.percent()).isEqualTo(100.0);
      assertThat(last.etaSeconds()).as("nothing is left, so no time is").isZero();
      assertSane(heard.starts);
      assertSane(heard.reports);
    }
  }

  // The first report came after the first batch, so a display's first state was already past the start.
  @Test
  void aResume_hearsTheCheckpointItStartsFrom_beforeItsFirstBatch() throws IOException {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(BS, 4, 50, false));
    VirtualDisk disk = MigrationFixture.open(img.device("resume"));
    MigrationControl ctl = new MigrationControl(0, false);
    InodeMigration.start(disk, TAGS, MigrationOptions.defaults().checkpointEvery(16).control(ctl)
        .listener(p -> ctl.cancel()));
    long from = InodeMigration.status(disk).inodesMigrated();
    long total = InodeMigration.status(disk).totalInodes();
    assertThat(from).as("stopped part-way").isPositive().isLessThan(total);

    Recorder heard = new Recorder();
    InodeMigration.resume(disk, MigrationOptions.defaults().checkpointEvery(16).listener(heard));

    assertThat(heard.starts).singleElement().satisfies(p -> {
      assertThat(p.phase()).isEqualTo(Phase.COPYING_INODES);
      assertThat(p.migrated()).isEqualTo(from);
      assertThat(p.total()).isEqualTo(total);
      assertThat(p.inodesPerSecond()).isZero();
    });
    assertThat(heard.reports.get(0).migrated()).as("batches are still reported after they are copied")
        .isGreaterThan(from);
    for (int i = 1; i < heard.reports.size(); i++) {
      assertThat(heard.reports.get(i).percent()).as("percent never falls (no foreground writes)")
          .isGreaterThanOrEqualTo(heard.reports.get(i - 1).percent());
    }
    MigrationProgress last = heard.reports.get(heard.reports.size() - 1);
    assertThat(last.phase()).isEqualTo(Phase.COMPLETE);
    assertThat(last.etaSeconds()).isZero();
    assertSane(heard.starts);
    assertSane(heard.reports);
    disk.close();
  }

  // The total is the initialized part of the old table, which the foreground's creations extend while the copy
  // runs: the percent fell from 78% to 32% when 1,500 files were created late in a run.
  @Test
  void foregroundCreationsGrowTheTotal_butThePercentNeverFalls() throws IOException {
    Path file = dir.resolve("grow.vde");
    try (VirtualDisk disk = VirtualDisk.create(file, CreateOptions.ofSize(8L << 20).blockSize(512)
        .inodeCount(4096))) {
      disk.batch(x -> {
        for (int i = 0; i < 1000; i++) {
          x.writeFile("/f" + i, new byte[] {(byte) i});
        }
      });
      List<MigrationProgress> heard = new ArrayList<>();
      boolean[] created = {false};
      InodeMigration.start(disk, TAGS, MigrationOptions.defaults().listener(p -> {
        heard.add(p);
        if (!created[0] && p.phase() == Phase.COPYING_INODES && p.migrated() >= 700) {
          created[0] = true;
          try {
            disk.batch(x -> {
              for (int i = 0; i < 1500; i++) {
                x.writeFile("/g" + i, new byte[] {(byte) i});
              }
            });
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      }));
      assertThat(created[0]).as("files were created part-way").isTrue();
      assertThat(heard.get(heard.size() - 1).total()).as("the total grew").isGreaterThan(2500);
      boolean held = false;
      for (int i = 1; i < heard.size(); i++) {
        MigrationProgress a = heard.get(i - 1);
        MigrationProgress b = heard.get(i);
        assertThat(b.percent()).as("percent after %s", a).isGreaterThanOrEqualTo(a.percent());
        assertThat(b.migrated()).as("migrated after %s", a).isGreaterThanOrEqualTo(a.migrated());
        assertThat(b.total()).as("total after %s", a).isGreaterThanOrEqualTo(a.total());
        held |= b.percent() > 100.0 * b.migrated() / b.total();
      }
      assertThat(held).as("some report held its percent above the counts' ratio").isTrue();
      assertThat(heard.get(heard.size() - 1).percent()).isEqualTo(100.0);
      assertSane(heard);
      assertThat(disk.readFile("/g1499")).containsExactly((byte) 1499);
    }
  }
}
