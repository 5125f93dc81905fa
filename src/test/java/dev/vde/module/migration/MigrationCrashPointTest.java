package dev.vde.module.migration;

import static dev.vde.module.migration.MigrationFixture.TAGS;
import static dev.vde.module.migration.MigrationFixture.TAGS_INODE_SIZE;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.InodeLayout;
import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.MigrationCheckpoint.Phase;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationProgress;
import dev.vde.module.MigrationResult;
import dev.vde.module.migration.MigrationFixture.Format;
import dev.vde.module.migration.MigrationFixture.Image;
import dev.vde.testing.FsModel;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Power cuts at every write of a whole inode migration (start, copy with checkpoints, swap, release of the old
 * table) on a small volume, with and without foreground writes interleaved by the progress listener. After each
 * cut the surviving image (unsynced writes lost, or a seeded random subset kept) is recovered two ways, each from
 * its own copy of the image:
 *
 * <ul>
 *   <li>resume: reopen, resume (or start again when the cut came before the migration was recorded), and expect
 *       Tags active with 448-byte inodes;
 *   <li>rollback: reopen and roll back while the swap has not committed (afterwards rollback must be refused and
 *       resume must finish), and expect exactly the original format, or the new one when the cut came after the
 *       migration completed.
 * </ul>
 *
 * Both must leave a clean verify, every file of the image and every acknowledged foreground operation (the one
 * in flight at the cut may be present or absent), also after a further close and reopen. Failure messages carry
 * the variant, crash index, policy and seed; {@code -Dvde.migration.seed=N} changes the seeds.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MigrationCrashPointTest {
  static final long BASE_SEED = Long.getLong("vde.migration.seed", 0x4D16_C0DEL);
  /** Positions every 16 inodes (a third of the interval): about 20 records, each synced on the sync thread. */
  private static final int EVERY = 48;
  /** Most TORN variants per crash point in the exhaustive sweep; beyond it the torn write is a seeded choice. */
  private static final int TORN_CAP = 8;

  private final Map<Integer, Scenario> scenarios = new TreeMap<>();

  /**
   * The pre-migration image of one block size and the write counts of its uninterrupted migration, built once.
   * 5 x 60 files: about 310 initialized inodes, copied in batches of 16 with a position after each (the record
   * of the position before written, the next sync started).
   */
  private Scenario scenario(int blockSize) throws IOException {
    Scenario s = scenarios.get(blockSize);
    if (s == null) {
      s = new Scenario(blockSize, MigrationFixture.build(MigrationFixture.smallSpec(blockSize, 5, 60, true)));
      scenarios.put(blockSize, s);
    }
    return s;
  }

  /** Writes of one uninterrupted run: indices [first, end) are the crash points. */
  private record Profile(boolean withWrites, long first, long end) {
    long writes() {
      return end - first;
    }
  }

  private static MigrationOptions options(Foreground fg) {
    MigrationOptions o = MigrationOptions.defaults().checkpointEvery(EVERY);
    return fg == null ? o : o.listener(fg);
  }

  static long seedFor(long index, int salt) {
    return new SplittableRandom(BASE_SEED + 0x9E3779B97F4A7C15L * index + salt).nextLong();
  }

  // ------------------------------------------------------------------------------------------------ default run
  // A 4 KiB-block migration issues about 50 writes, about 120 with the foreground workload, and a case takes a
  // few milliseconds, so the default run affords every crash point under both policies (well under 90 s).

  @Test
  void withoutForegroundWrites_everyCrashPoint_recoversByResumeAndByRollback_whenUnsyncedWritesAreLost()
      throws IOException {
    Scenario sc = scenario(4096);
    Sweep s = new Sweep(sc, "bs=4096, no writes, policy NONE, every crash point");
    for (long i = sc.quiet.first(); i < sc.quiet.end(); i++) {
      s.check(sc.runWithCut(sc.quiet, i), KeepPolicy.NONE);
    }
    assertThat(s.cases).isEqualTo(sc.quiet.writes());
    s.assertEveryOutcomeSeen();
    s.assertNone();
  }

  @Test
  void withoutForegroundWrites_everyCrashPoint_recoversByResumeAndByRollback_withASeededRandomSubsetKept()
      throws IOException {
    Scenario sc = scenario(4096);
    Sweep s = new Sweep(sc, "bs=4096, no writes, seeded RANDOM_SUBSET, every crash point");
    for (long i = sc.quiet.first(); i < sc.quiet.end(); i++) {
      s.check(sc.runWithCut(sc.quiet, i), KeepPolicy.randomSubset(seedFor(i, 1)));
    }
    s.assertNone();
  }

  @Test
  void withForegroundWrites_everyCrashPoint_keepsEveryAcknowledgedOperation_afterResumeAndAfterRollback()
      throws IOException {
    Scenario sc = scenario(4096);
    Sweep s = new Sweep(sc, "bs=4096, foreground writes, NONE and seeded RANDOM_SUBSET, every crash point");
    for (long i = sc.busy.first(); i < sc.busy.end(); i++) {
      CutRun run = sc.runWithCut(sc.busy, i);
      s.check(run, KeepPolicy.NONE);
      s.check(run, KeepPolicy.randomSubset(seedFor(i, 2)));
    }
    s.assertEveryOutcomeSeen();
    s.assertNone();
  }

  @Test
  void rollbackItself_cutAtEveryWrite_isFinishedByTheNextRollback_andNeverResumedAsACopy() throws IOException {
    Scenario sc = scenario(4096);
    List<String> failures = new ArrayList<>();
    Profile rb = sc.rollbackProfile();
    for (long i = rb.first(); i < rb.end(); i++) {
      PowerLossDevice dev = sc.cancelled.device("rollback cut");
      VirtualDisk disk = null;
      try {
        disk = MigrationFixture.open(dev);
        dev.crashAt(i);
        InodeMigration.rollback(disk);
        failures.add("crash index " + i + ": rollback returned although its write was cut");
      } catch (IOException expected) {
        // The cut.
      } finally {
        TestVolumes.closeQuietly(disk);
      }
      for (KeepPolicy p : List.of(KeepPolicy.NONE, KeepPolicy.randomSubset(seedFor(i, 5)))) {
        failures.addAll(sc.checkRollbackRecovery(dev.powerLoss(p), "bs=4096 rollback cut at crash index " + i
            + " (write " + (i - rb.first()) + " of the rollback's " + rb.writes() + "), policy " + p + ", base seed "
            + BASE_SEED));
      }
    }
    assertThat(rb.writes()).as("writes of a rollback").isGreaterThan(2);
    assertThat(sc.rollingBackSeen).as("cuts that left a ROLLING_BACK checkpoint").isPositive();
    assertThat(failures).isEmpty();
  }

  @Test
  void resumeItself_cutAtEveryWrite_afterAFirstCutInEachPhase_stillRecoversBothWays() throws IOException {
    Scenario sc = scenario(4096);
    Sweep s = new Sweep(sc, "bs=4096, a second cut during resume, first cuts every 3rd write, NONE");
    for (long i = sc.quiet.first(); i < sc.quiet.end(); i += 3) {
      s.checkSecondCuts(sc.runWithCut(sc.quiet, i), KeepPolicy.NONE, j -> KeepPolicy.randomSubset(seedFor(j, 10)));
    }
    assertThat(s.cases).as("second cuts checked").isGreaterThan(50);
    s.assertNone();
  }

  // ------------------------------------------------------------------------------------------------ exhaustive

  @Tag("crash-exhaustive")
  @Test
  void resumeItself_cutAtEveryWrite_afterAFirstCutAtEveryWrite_underPairsOfPolicies() throws IOException {
    Scenario sc = scenario(4096);
    Sweep s = new Sweep(sc, "exhaustive, bs=4096, a second cut during resume");
    for (long i = sc.quiet.first(); i < sc.quiet.end(); i++) {
      CutRun run = sc.runWithCut(sc.quiet, i);
      for (KeepPolicy first : List.of(KeepPolicy.NONE, KeepPolicy.ALL, KeepPolicy.randomSubset(seedFor(i, 11)))) {
        s.checkSecondCuts(run, first, j -> KeepPolicy.NONE);
        s.checkSecondCuts(run, first, j -> KeepPolicy.randomSubset(seedFor(j, 12)));
      }
    }
    s.assertNone();
  }

  @Tag("crash-exhaustive")
  @ParameterizedTest(name = "blockSize={0}")
  @ValueSource(ints = {4096, 512})
  void withoutForegroundWrites_everyCrashPoint_underEveryPolicy(int blockSize) throws IOException {
    Scenario sc = scenario(blockSize);
    Sweep s = new Sweep(sc, "exhaustive, bs=" + blockSize + ", no writes");
    for (long i = sc.quiet.first(); i < sc.quiet.end(); i++) {
      CutRun run = sc.runWithCut(sc.quiet, i);
      for (KeepPolicy p : everyPolicy(run, i, blockSize)) {
        s.check(run, p);
      }
    }
    s.assertEveryOutcomeSeen();
    s.assertNone();
  }

  @Tag("crash-exhaustive")
  @ParameterizedTest(name = "blockSize={0}")
  @ValueSource(ints = {4096, 512})
  void withForegroundWrites_everyCrashPoint_underEveryPolicy(int blockSize) throws IOException {
    Scenario sc = scenario(blockSize);
    Sweep s = new Sweep(sc, "exhaustive, bs=" + blockSize + ", foreground writes");
    for (long i = sc.busy.first(); i < sc.busy.end(); i++) {
      CutRun run = sc.runWithCut(sc.busy, i);
      for (KeepPolicy p : everyPolicy(run, i, blockSize)) {
        s.check(run, p);
      }
    }
    s.assertEveryOutcomeSeen();
    s.assertNone();
  }

  /**
   * NONE, ALL, three seeded random subsets of whole writes, random subsets of blocks and of 512-byte sectors
   * (a multi-block write landing partly), and a tear of each unsynced write (at most {@link #TORN_CAP}, the
   * interrupted one always among them).
   */
  private static List<KeepPolicy> everyPolicy(CutRun run, long i, int blockSize) {
    List<KeepPolicy> ps = new ArrayList<>(List.of(KeepPolicy.NONE, KeepPolicy.ALL,
        KeepPolicy.randomSubset(seedFor(i, 1)), KeepPolicy.randomSubset(seedFor(i, 2)),
        KeepPolicy.randomSubset(seedFor(i, 3)), KeepPolicy.randomBlocks(blockSize, seedFor(i, 6)),
        KeepPolicy.randomBlocks(512, seedFor(i, 7))));
    int pending = run.device.pendingWriteCount();
    SplittableRandom r = new SplittableRandom(seedFor(i, 8));
    TreeSet<Integer> torn = new TreeSet<>();
    if (pending > 0) {
      torn.add(pending - 1);
    }
    while (torn.size() < Math.min(pending, TORN_CAP)) {
      torn.add(r.nextInt(pending));
    }
    for (int t : torn) {
      ps.add(KeepPolicy.torn(t, seedFor(i, 9 + t)));
    }
    return ps;
  }

  // ------------------------------------------------------------------------------------------------ scenario

  /** One pre-migration image with its original format, its migration plan and its profiled runs. */
  private static final class Scenario {
    final int blockSize;
    final Image image;
    final Format original;
    final InodeMigration.Plan plan;
    final Profile quiet;
    final Profile busy;
    /** The image with a migration cancelled part-way (pending, copy phase), for the rollback sweep. */
    Image cancelled;
    /** Recovered images whose checkpoint said ROLLING_BACK, i.e. where resume had to be refused. */
    int rollingBackSeen;

    Scenario(int blockSize, Image image) throws IOException {
      this.blockSize = blockSize;
      this.image = image;
      VirtualDisk disk = MigrationFixture.open(image.device("original"));
      original = MigrationFixture.formatOf(disk);
      plan = InodeMigration.plan(disk, TAGS);
      disk.close();
      assertThat(plan.feasible()).as("bs=%d plan: %s", blockSize, plan.reason()).isTrue();
      quiet = profile(false);
      busy = profile(true);
    }

    private Profile profile(boolean withWrites) throws IOException {
      PowerLossDevice dev = image.device("profile");
      VirtualDisk disk = MigrationFixture.open(dev);
      Foreground fg = withWrites ? new Foreground(disk, image) : null;
      long first = dev.writeCount();
      MigrationResult r = InodeMigration.start(disk, TAGS, options(fg));
      long end = dev.writeCount();
      assertThat(r.cancelled()).isFalse();
      if (fg != null) {
        assertThat(fg.acknowledged).as("foreground operations during the profiled run").isGreaterThan(10);
        assertThat(MigrationFixture.treeDiff(disk, fg.model)).as("tree after the uninterrupted busy run").isEmpty();
        assertThat(MigrationFixture.transitDiff(disk, fg.transit)).isEmpty();
      }
      disk.close();
      return new Profile(withWrites, first, end);
    }

    /** Cancels a migration at about 40% and profiles the rollback that follows on the closed image. */
    Profile rollbackProfile() throws IOException {
      PowerLossDevice dev = image.device("cancelled");
      VirtualDisk disk = MigrationFixture.open(dev);
      MigrationControl ctl = new MigrationControl(0, false);
      MigrationResult r = InodeMigration.start(disk, TAGS, options(null).control(ctl).listener(p -> {
        if (p.migrated() >= p.total() * 2 / 5) {
          ctl.cancel();
        }
      }));
      assertThat(r.cancelled()).isTrue();
      disk.close();
      cancelled = new Image(dev.snapshot(), image.model(), image.transit());
      PowerLossDevice probe = cancelled.device("rollback profile");
      VirtualDisk d = MigrationFixture.open(probe);
      long first = probe.writeCount();
      InodeMigration.rollback(d);
      long end = probe.writeCount();
      d.close();
      return new Profile(false, first, end);
    }

    CutRun runWithCut(Profile p, long index) {
      PowerLossDevice dev = image.device("crash volume bs=" + blockSize);
      VirtualDisk disk = null;
      Foreground fg = null;
      Throwable thrown = null;
      try {
        disk = MigrationFixture.open(dev);
        fg = p.withWrites() ? new Foreground(disk, image) : null;
        dev.crashAt(index);
        InodeMigration.start(disk, TAGS, options(fg));
      } catch (Throwable t) {
        thrown = t;
      } finally {
        TestVolumes.closeQuietly(disk);
      }
      Expected acked = fg == null ? new Expected(image.model().copy(), new TreeMap<>(image.transit()))
          : new Expected(fg.model.copy(), new TreeMap<>(fg.transit));
      CutRun run = new CutRun(p, index, dev, acked, fg == null ? null : fg.inFlight);
      Throwable cause = thrown instanceof UncheckedIOException u ? u.getCause() : thrown;
      if (thrown == null) {
        run.problems.add("the migration returned although write #" + index + " was cut");
      } else if (!dev.isCut()) {
        run.problems.add("the migration failed before the cut: " + stackTrace(thrown));
      } else if (!(cause instanceof IOException)) {
        run.problems.add("the power cut surfaced as " + stackTrace(thrown) + " instead of an IOException");
      }
      return run;
    }

    /**
     * After a cut during rollback: a ROLLING_BACK checkpoint must keep resume away (it would copy into a table
     * being freed), the next rollback must finish, and the result is exactly the original volume.
     */
    List<String> checkRollbackRecovery(PowerLossDevice image2, String ctx) {
      List<String> out = new ArrayList<>();
      VirtualDisk disk = null;
      try {
        disk = MigrationFixture.open(image2);
        if (InodeMigration.isPending(disk)) {
          MigrationCheckpoint st = InodeMigration.status(disk);
          if (st != null && st.phase() == Phase.ROLLING_BACK) {
            rollingBackSeen++;
            try {
              InodeMigration.resume(disk, options(null));
              out.add(ctx + ": resume accepted a migration that was being rolled back");
            } catch (VdeInvalidArgumentException refused) {
              if (!refused.getMessage().contains("rolled back")) {
                out.add(ctx + ": resume of a rollback in progress was refused with '" + refused.getMessage() + "'");
              }
            }
          }
          InodeMigration.rollback(disk);
        }
        CutRun asIfQuiet = new CutRun(quiet, -1, null, new Expected(image.model(), image.transit()), null);
        for (String when : List.of("", ", after close and reopen")) {
          if (!when.isEmpty()) {
            disk.close();
            disk = MigrationFixture.open(image2.powerLoss(KeepPolicy.NONE));
          }
          contentCheck(disk, asIfQuiet, ctx + when, out);
          originalFormatCheck(this, disk, asIfQuiet, ctx + when, out);
          verifyCheck(disk, ctx + when, out);
        }
      } catch (Throwable t) {
        out.add(ctx + ": " + stackTrace(t));
      } finally {
        TestVolumes.closeQuietly(disk);
      }
      return out;
    }
  }

  // ------------------------------------------------------------------------------------------------ cut runs

  /** A migration stopped by a power cut, with what the foreground had acknowledged by then. */
  private static final class CutRun {
    final Profile profile;
    final long index;
    final PowerLossDevice device;
    final Expected acked;
    /** The foreground operation whose call had not returned at the cut, or null. */
    final Op inFlight;
    final List<String> problems = new ArrayList<>();
    /** For a cut during the resume of an earlier cut: which write of the resume, and its policy; else null. */
    String secondCut;

    CutRun(Profile profile, long index, PowerLossDevice device, Expected acked, Op inFlight) {
      this.profile = profile;
      this.index = index;
      this.device = device;
      this.acked = acked;
      this.inFlight = inFlight;
    }
  }

  // ------------------------------------------------------------------------------------------------ foreground

  /** What the volume must hold: the tree and the Transit value of every file that has one. */
  private record Expected(FsModel model, Map<String, Byte> transit) {
    Expected with(Op op) {
      Expected e = new Expected(model.copy(), new TreeMap<>(transit));
      op.applyTo(e);
      return e;
    }
  }

  private enum Kind { OVERWRITE, CREATE, DELETE, SET_TRANSIT }

  /** One foreground operation; {@code data} is the new content, {@code value} the new Transit byte. */
  private record Op(int number, Kind kind, String path, byte[] data, byte value) {
    void run(VirtualDisk disk) throws IOException {
      switch (kind) {
        case OVERWRITE, CREATE -> disk.writeFile(path, data);
        case DELETE -> disk.delete(path);
        case SET_TRANSIT -> disk.writeModuleField(path, Module.TRANSIT, new byte[] {value});
        default -> throw new IllegalStateException(kind.toString());
      }
    }

    void applyTo(Expected e) {
      switch (kind) {
        case OVERWRITE -> e.model().writeFile(path, data);
        case CREATE -> {
          e.model().writeFile(path, data);
          // A new inode's module fields start at zero.
          e.transit().put(path, (byte) 0);
        }
        case DELETE -> {
          e.model().delete(path);
          e.transit().remove(path);
        }
        case SET_TRANSIT -> e.transit().put(path, value);
        default -> throw new IllegalStateException(kind.toString());
      }
    }

    @Override
    public String toString() {
      return "op#" + number + " " + kind + " " + path;
    }
  }

  /**
   * The foreground workload, run by the progress listener: one deterministic operation per report (so the
   * crash indices of the profiled run and of every cut run agree), cycling through overwrite, create, delete
   * and a Transit update. Files are picked from every directory, so inodes on both sides of the watermark are
   * changed. The model is updated only after an operation returns, i.e. once it is acknowledged.
   */
  private static final class Foreground implements MigrationProgress.Listener {
    final VirtualDisk disk;
    final FsModel model;
    final Map<String, Byte> transit;
    private final List<String> overwritable = new ArrayList<>();
    private final List<String> deletable = new ArrayList<>();
    int acknowledged;
    Op inFlight;

    Foreground(VirtualDisk disk, Image image) throws IOException {
      this.disk = disk;
      this.model = image.model().copy();
      this.transit = new TreeMap<>(image.transit());
      int k = 0;
      for (String f : image.model().files().keySet()) {
        (k++ % 5 == 0 ? deletable : overwritable).add(f);
      }
      disk.mkdir("/w");
      model.mkdir("/w");
    }

    private Op next(int n) {
      Kind kind = Kind.values()[n % Kind.values().length];
      int r = n / Kind.values().length;
      return switch (kind) {
        case OVERWRITE -> new Op(n, kind, overwritable.get((r * 37) % overwritable.size()),
            SeededBytes.bytes(BASE_SEED + n, 200 + (n * 997) % 5000), (byte) 0);
        case CREATE -> new Op(n, kind, "/w/new" + n, SeededBytes.bytes(BASE_SEED - n, (n * 131) % 3000), (byte) 0);
        case DELETE -> new Op(n, kind, deletable.get((r * 7) % deletable.size()), null, (byte) 0);
        case SET_TRANSIT -> new Op(n, kind, overwritable.get((r * 53 + 11) % overwritable.size()), null,
            (byte) (n + 1));
      };
    }

    @Override
    public void onProgress(MigrationProgress p) {
      Op op = next(acknowledged);
      if (op.kind() == Kind.DELETE && !model.isFile(op.path())) {
        // Already deleted by an earlier round: skip it rather than issue an operation the model calls invalid.
        acknowledged++;
        return;
      }
      inFlight = op;
      try {
        op.run(disk);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      op.applyTo(new Expected(model, transit));
      inFlight = null;
      acknowledged++;
    }
  }

  // ------------------------------------------------------------------------------------------------ checking

  /** How a recovered image turned out, to show that a sweep reached every phase. */
  private enum Outcome { NOT_STARTED, PENDING_BEFORE_SWAP, PENDING_AFTER_SWAP, COMPLETED }

  /** Collects the failures of a sweep so one run reports every failing crash point. */
  private static final class Sweep {
    final Scenario sc;
    final String name;
    final List<String> failures = new ArrayList<>();
    final TreeSet<Long> failingIndices = new TreeSet<>();
    final EnumMap<Outcome, Integer> outcomes = new EnumMap<>(Outcome.class);
    int cases;

    Sweep(Scenario sc, String name) {
      this.sc = sc;
      this.name = name;
    }

    void check(CutRun run, KeepPolicy policy) {
      cases++;
      String ctx = (run.profile.withWrites() ? "with" : "without") + " foreground writes, crash index " + run.index
          + " (write " + (run.index - run.profile.first()) + " of the migration's " + run.profile.writes()
          + ")" + (run.secondCut == null ? "" : ", " + run.secondCut) + ", policy " + policy + ", base seed "
          + BASE_SEED + ", in flight: " + (run.inFlight == null ? "nothing" : run.inFlight);
      List<String> found = new ArrayList<>();
      for (String p : run.problems) {
        found.add(ctx + ": " + p);
      }
      found.addAll(checkResume(run, policy, ctx + ", resume"));
      found.addAll(checkRollback(run, policy, ctx + ", rollback"));
      if (!found.isEmpty()) {
        failingIndices.add(run.index);
        failures.addAll(found);
      }
    }

    /**
     * Recovers {@code run} under {@code first} and, when that leaves the migration pending, cuts the power at
     * every write the resume issues; each such second cut is checked like a first one (both recoveries), with
     * {@code second} choosing what of its unsynced writes survives.
     */
    void checkSecondCuts(CutRun run, KeepPolicy first, java.util.function.LongFunction<KeepPolicy> second) {
      PowerLossDevice image1 = run.device.powerLoss(first);
      long opened;
      long resumeEnd;
      try {
        PowerLossDevice probe = image1.powerLoss(KeepPolicy.ALL);
        VirtualDisk d = MigrationFixture.open(probe);
        if (!InodeMigration.isPending(d)) {
          d.close();
          return;
        }
        opened = probe.writeCount();
        InodeMigration.resume(d, options(null));
        resumeEnd = probe.writeCount();
        d.close();
      } catch (IOException | RuntimeException e) {
        cases++;
        failingIndices.add(run.index);
        failures.add("crash index " + run.index + ", policy " + first + ": resume without a second cut failed: "
            + stackTrace(e));
        return;
      }
      for (long j = opened; j < resumeEnd; j++) {
        PowerLossDevice dev = image1.powerLoss(KeepPolicy.ALL);
        VirtualDisk d = null;
        try {
          d = MigrationFixture.open(dev);
          dev.crashAt(j);
          InodeMigration.resume(d, options(null));
        } catch (IOException expected) {
          // The second cut.
        } catch (RuntimeException e) {
          failures.add("crash index " + run.index + ", second cut at write " + j + ": " + stackTrace(e));
        } finally {
          TestVolumes.closeQuietly(d);
        }
        CutRun again = new CutRun(run.profile, run.index, dev, run.acked, run.inFlight);
        again.secondCut = "first policy " + first + ", then a cut at write " + (j - opened) + " of the resume's "
            + (resumeEnd - opened);
        if (!dev.isCut()) {
          again.problems.add("the resume never reached write " + j);
        }
        check(again, second.apply(j));
      }
    }

    void assertEveryOutcomeSeen() {
      assertThat(outcomes.keySet()).as("%s: outcomes of the recovered images %s", name, outcomes)
          .containsExactlyInAnyOrder(Outcome.values());
    }

    void assertNone() {
      if (failures.isEmpty()) {
        return;
      }
      StringBuilder sb = new StringBuilder(name).append(": ").append(failures.size()).append(" failure(s) in ")
          .append(cases).append(" cases; failing crash indices ").append(failingIndices).append("; the first ones:\n");
      failures.stream().limit(20).forEach(f -> sb.append("-- ").append(f).append('\n'));
      throw new AssertionError(sb.toString());
    }

    private Outcome classify(VirtualDisk disk) {
      if (InodeMigration.isPending(disk)) {
        return MigrationFixture.swapCommitted(disk) ? Outcome.PENDING_AFTER_SWAP : Outcome.PENDING_BEFORE_SWAP;
      }
      return hasTags(disk) ? Outcome.COMPLETED : Outcome.NOT_STARTED;
    }

    /** Reopen, finish the migration, and expect the new format with everything acknowledged kept. */
    private List<String> checkResume(CutRun run, KeepPolicy policy, String ctx) {
      List<String> out = new ArrayList<>();
      PowerLossDevice dev = run.device.powerLoss(policy);
      VirtualDisk disk = null;
      try {
        disk = MigrationFixture.open(dev);
        for (String w : disk.info().warnings()) {
          // The checkpoint is synced before the pending bit can become durable, so open must always find one
          // that describes the pending migration; and a cut must not unbalance the free count.
          if (w.contains("migration") || w.contains("free count")) {
            out.add(ctx + ": open warned: " + w);
          }
        }
        Outcome o = classify(disk);
        outcomes.merge(o, 1, Integer::sum);
        if (o == Outcome.PENDING_BEFORE_SWAP || o == Outcome.PENDING_AFTER_SWAP) {
          // A pending migration is a state the format defines, not damage: it must verify clean as it is.
          verifyCheck(disk, ctx + ", pending, before resuming", out);
        }
        MigrationResult r = null;
        if (o == Outcome.PENDING_BEFORE_SWAP || o == Outcome.PENDING_AFTER_SWAP) {
          r = InodeMigration.resume(disk, options(null));
        } else if (o == Outcome.NOT_STARTED) {
          // The cut came before the migration was recorded: the operator runs it again.
          r = InodeMigration.start(disk, TAGS, options(null));
        }
        if (r != null && r.cancelled()) {
          out.add(ctx + ": the migration reports itself cancelled");
        }
        Expected e = contentCheck(disk, run, ctx, out);
        newFormatCheck(sc, disk, run, ctx, out);
        tagsZeroCheck(disk, e, ctx, out);
        verifyCheck(disk, ctx, out);
        disk.close();
        disk = MigrationFixture.open(dev.powerLoss(KeepPolicy.NONE));
        contentCheck(disk, run, ctx + ", after close and reopen", out);
        newFormatCheck(sc, disk, run, ctx + ", after close and reopen", out);
      } catch (Throwable t) {
        out.add(ctx + ": " + stackTrace(t));
      } finally {
        TestVolumes.closeQuietly(disk);
      }
      return out;
    }

    /**
     * Reopen and roll back: before the swap the original format must come back exactly; after it rollback must
     * be refused and resume must finish; a migration that already completed stays completed.
     */
    private List<String> checkRollback(CutRun run, KeepPolicy policy, String ctx) {
      List<String> out = new ArrayList<>();
      PowerLossDevice dev = run.device.powerLoss(policy);
      VirtualDisk disk = null;
      try {
        disk = MigrationFixture.open(dev);
        Outcome o = classify(disk);
        if (o == Outcome.PENDING_BEFORE_SWAP) {
          InodeMigration.rollback(disk);
        } else if (o == Outcome.PENDING_AFTER_SWAP) {
          try {
            InodeMigration.rollback(disk);
            out.add(ctx + ": rollback was accepted after the swap had committed");
          } catch (VdeInvalidArgumentException refused) {
            if (!refused.getMessage().contains("already completed")) {
              out.add(ctx + ": rollback after the swap was refused with '" + refused.getMessage() + "'");
            }
          }
          InodeMigration.resume(disk, options(null));
        }
        boolean expectNew = o == Outcome.PENDING_AFTER_SWAP || o == Outcome.COMPLETED;
        for (String when : List.of("", ", after close and reopen")) {
          if (!when.isEmpty()) {
            disk.close();
            disk = MigrationFixture.open(dev.powerLoss(KeepPolicy.NONE));
          }
          contentCheck(disk, run, ctx + when, out);
          if (expectNew) {
            newFormatCheck(sc, disk, run, ctx + when, out);
          } else {
            originalFormatCheck(sc, disk, run, ctx + when, out);
          }
          verifyCheck(disk, ctx + when, out);
        }
      } catch (Throwable t) {
        out.add(ctx + ": " + stackTrace(t));
      } finally {
        TestVolumes.closeQuietly(disk);
      }
      return out;
    }
  }

  private static boolean hasTags(VirtualDisk disk) {
    return (disk.volume().superblock().moduleManifest() & Module.TAGS.bit()) != 0;
  }

  /**
   * The tree and Transit values must be the acknowledged state, or that state plus the operation in flight.
   * Returns the state that matched (the acknowledged one when neither did).
   */
  private static Expected contentCheck(VirtualDisk disk, CutRun run, String ctx, List<String> out)
      throws IOException {
    FsModel tree = FsModel.readFrom(disk);
    List<String> ackedDiff = new ArrayList<>(tree.diff(run.acked.model()));
    ackedDiff.addAll(MigrationFixture.transitDiff(disk, run.acked.transit()));
    if (ackedDiff.isEmpty()) {
      return run.acked;
    }
    if (run.inFlight != null) {
      Expected withOp = run.acked.with(run.inFlight);
      List<String> d = new ArrayList<>(tree.diff(withOp.model()));
      d.addAll(MigrationFixture.transitDiff(disk, withOp.transit()));
      if (d.isEmpty()) {
        return withOp;
      }
    }
    for (String d : ackedDiff) {
      out.add(ctx + ": " + d);
    }
    return run.acked;
  }

  private static void newFormatCheck(Scenario sc, VirtualDisk disk, CutRun run, String ctx, List<String> out)
      throws IOException {
    Format f = MigrationFixture.formatOf(disk);
    long manifest = sc.original.manifest() | Module.TAGS.bit();
    if (f.manifest() != manifest || f.inodeSize() != TAGS_INODE_SIZE
        || !f.layout().equals(InodeLayout.canonical(manifest))) {
      out.add(ctx + ": expected the migrated format (manifest " + manifest + ", " + TAGS_INODE_SIZE
          + "-byte canonical layout), found manifest " + f.manifest() + ", layout " + f.layout());
    }
    if ((f.incompat() & Superblock.INCOMPAT_MIGRATION_PENDING) != 0 || InodeMigration.status(disk) != null) {
      out.add(ctx + ": the migration is still pending");
    }
    if (MigrationFixture.hasRegion(disk, RegionDirectory.TAG_INODES_NEW)) {
      out.add(ctx + ": the new-table region INOM was left behind");
    }
    if (MigrationFixture.swapCommitted(disk)) {
      out.add(ctx + ": the old table (region INOO) was never freed");
    }
    if (!run.profile.withWrites()) {
      // Nothing else allocates or frees: new table and TIDX taken, old table given back, no leak from the cut.
      long expected = sc.original.freeBlocks() - sc.plan.newTableBlocks() - sc.plan.regionBlocks()
          + sc.plan.oldTableBlocks();
      if (f.freeBlocks() != expected) {
        out.add(ctx + ": " + f.freeBlocks() + " free blocks after the migration, expected " + expected);
      }
    }
  }

  /**
   * Exactly the original format. Without foreground writes that includes the free count; with them the files
   * change it, so only the structures the migration touches are compared.
   */
  private static void originalFormatCheck(Scenario sc, VirtualDisk disk, CutRun run, String ctx, List<String> out)
      throws IOException {
    Format f = MigrationFixture.formatOf(disk);
    Format o = sc.original;
    Format want = run.profile.withWrites() ? new Format(o.manifest(), o.incompat(), o.layout(), o.inodeSize(),
        o.inodeTable(), f.freeBlocks(), o.regions()) : o;
    if (!f.equals(want)) {
      out.add(ctx + ": expected the original format\n    " + want + "\n  found\n    " + f);
    }
    if (InodeMigration.status(disk) != null) {
      out.add(ctx + ": a migration is still pending");
    }
  }

  /** Every inode existing before the migration reads an all-zero Tags field. */
  private static void tagsZeroCheck(VirtualDisk disk, Expected e, String ctx, List<String> out) throws IOException {
    for (String p : MigrationFixture.allPaths(e.model())) {
      byte[] f = disk.readModuleField(p, Module.TAGS);
      for (byte b : f) {
        if (b != 0) {
          out.add(ctx + ": Tags field of " + p + " is not zero");
          break;
        }
      }
    }
  }

  private static void verifyCheck(VirtualDisk disk, String ctx, List<String> out) throws IOException {
    for (String p : MigrationFixture.verifyProblems(disk)) {
      out.add(ctx + ": " + p);
    }
  }

  private static String stackTrace(Throwable t) {
    StringWriter w = new StringWriter();
    t.printStackTrace(new PrintWriter(w));
    return w.toString();
  }
}
