package dev.vde.reliability;

import dev.vde.Progress;
import dev.vde.VdeCorruptedException;
import dev.vde.VdeException;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.check.VerifyReport;
import dev.vde.format.InodeLayout;
import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.BlockDevice;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationOptions;
import dev.vde.module.copy.ExtentAwareCopy;
import dev.vde.reliability.Script.Kind;
import dev.vde.reliability.Script.RunContext;
import dev.vde.reliability.Script.Step;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

/**
 * The crash-consistency harness of the reliability campaign: replays a {@link Script} over a
 * {@link PowerLossDevice} with a power cut at a chosen write, keeps what one crash model lets survive, and checks
 * the recovered volume, then continues the interrupted operation and checks again.
 *
 * <h2>Crash index space</h2>
 * A crash index numbers the writes of one uninterrupted run of the script: the volume device's writes, except
 * during a copy step, whose writes go to the copy's destination device (the source is only read, which the
 * profile run checks). So every write of every step, copy included, is a crash point.
 *
 * <h2>What one crash state must satisfy</h2>
 * <ol>
 *   <li>The cut surfaces as an {@link IOException} from the step in flight, and nowhere else.
 *   <li>The surviving image opens (unless the create itself was cut), {@code verify} is clean, and its
 *       {@link VolumeModel} (tree, modules, pending migration, Transit and Tags fields) is one the step allows:
 *       every acknowledged step and every acknowledged foreground operation of a migration present, the one in
 *       flight all or nothing, a migration not yet recorded, pending, swapped or complete.
 *   <li>A read-only open of the same image shows the same model and writes nothing.
 *   <li>A copy step leaves its source byte-identical, and its destination is refused (VdeCorruptedException)
 *       or complete: clean and equal to the source with the added modules.
 *   <li>The interrupted operation continues: a lost operation is redone, a migration is resumed and, from a
 *       second copy of the image, rolled back (refused once its swap committed), a cut rollback is finished, a
 *       cut copy is done again; the result is checked as above, then closed, reopened with unsynced writes
 *       lost and checked once more.
 * </ol>
 */
final class CrashCampaign {
  final Script script;
  /** Names the script in failure messages, seed included, so that any failure can be replayed. */
  final String label;
  private final long[] vStart;
  private final long[] mainStart;

  /** How the engine sees each run's device; the identity except in the harness's self-test. */
  private final UnaryOperator<BlockDevice> view;

  CrashCampaign(Script script, String label) throws IOException {
    this(script, label, d -> d);
  }

  CrashCampaign(Script script, String label, UnaryOperator<BlockDevice> view) throws IOException {
    this.script = script;
    this.label = label;
    this.view = view;
    this.vStart = new long[script.size() + 1];
    this.mainStart = new long[script.size() + 1];
    RunContext cx = newContext();
    long v = 0;
    for (int s = 0; s < script.size(); s++) {
      Step st = script.step(s);
      vStart[s] = v;
      mainStart[s] = cx.device.writeCount();
      runStep(st, cx);
      if (st.kind() == Kind.COPY) {
        if (cx.device.writeCount() != mainStart[s]) {
          throw new AssertionError(label + ": the copy step wrote " + (cx.device.writeCount() - mainStart[s])
              + " times to its source volume, which it must only read");
        }
        v += cx.copyDestination.writeCount();
      } else {
        v += cx.device.writeCount() - mainStart[s];
      }
    }
    vStart[script.size()] = v;
    mainStart[script.size()] = cx.device.writeCount();
  }

  private RunContext newContext() {
    RunContext cx = new RunContext(new PowerLossDevice(deviceName()));
    cx.view = view;
    return cx;
  }

  private String deviceName() {
    return "crash campaign volume bs=" + script.blockSize;
  }

  /** Crash points of the script: the writes of one uninterrupted run, copy destination included. */
  long totalWrites() {
    return vStart[script.size()];
  }

  long firstWriteOf(int step) {
    return vStart[step];
  }

  long endWriteOf(int step) {
    return vStart[step + 1];
  }

  int stepOfIndex(long v) {
    for (int s = 0; s < script.size(); s++) {
      if (v < vStart[s + 1]) {
        return s;
      }
    }
    throw new IllegalArgumentException("crash index " + v + " is past the " + totalWrites() + " writes");
  }

  private static void runStep(Step st, RunContext cx) throws IOException {
    cx.subAcked = 0;
    cx.subInFlight = false;
    st.action().run(cx);
  }

  // ------------------------------------------------------------------------------------------------ cut runs

  /** A run stopped by a power cut. */
  static final class CutRun {
    final long index;
    final int step;
    final RunContext cx;
    final int subAcked;
    final boolean subInFlight;
    /** The source volume's bytes when the copy in flight began (null for other steps). */
    final byte[] sourceBeforeCopy;
    final List<String> problems = new ArrayList<>();

    CutRun(long index, int step, RunContext cx, byte[] sourceBeforeCopy) {
      this.index = index;
      this.step = step;
      this.cx = cx;
      this.subAcked = cx.subAcked;
      this.subInFlight = cx.subInFlight;
      this.sourceBeforeCopy = sourceBeforeCopy;
    }
  }

  /** Runs the script on a fresh device with a cut armed at crash index {@code v}. */
  CutRun runWithCut(long v) {
    int target = stepOfIndex(v);
    RunContext cx = newContext();
    boolean onCopy = script.step(target).kind() == Kind.COPY;
    if (!onCopy) {
      cx.device.crashAt(mainStart[target] + v - vStart[target]);
    }
    for (int s = 0; s < script.size(); s++) {
      Step st = script.step(s);
      // Only the targeted copy step's destination carries the cut; earlier copies run to completion.
      cx.copyCutAt = onCopy && s == target ? v - vStart[target] : -1;
      byte[] source = st.kind() == Kind.COPY ? cx.device.snapshot() : null;
      try {
        runStep(st, cx);
      } catch (Throwable thrown) {
        CutRun run = new CutRun(v, s, cx, source);
        Throwable t = thrown instanceof Script.ForegroundFailure u ? u.getCause() : thrown;
        boolean cut = cx.device.isCut() || (cx.copyDestination != null && cx.copyDestination.isCut());
        if (!cut) {
          run.problems.add("step failed although the power was still on: " + stackTrace(t));
        } else if (!(t instanceof IOException)) {
          run.problems.add("the power cut surfaced as " + t.getClass().getName() + " instead of an IOException: "
              + stackTrace(t));
        }
        if (s != target) {
          run.problems.add("nondeterministic script: crash index " + v + " belongs to step " + target
              + " in the profiled run, but the cut hit step " + s);
        }
        return run;
      }
    }
    CutRun run = new CutRun(v, script.size() - 1, cx, null);
    run.problems.add("the cut at crash index " + v + " was never reached");
    return run;
  }

  // ------------------------------------------------------------------------------------------------ policies

  /**
   * {@code -Dvde.reliability.loseOne=true}: the subset model also keeps every unsynced block but one (chosen at
   * random), the case random subsets rarely make and the one that lets an older block stand in for a lost newer
   * one ({@link KeepPolicy#loseOne}).
   */
  static final boolean LOSE_ONE = Boolean.getBoolean("vde.reliability.loseOne");

  /** The three crash models of the campaign. */
  enum Model {
    /** (a) every unsynced write lost. */
    LOSE_UNSYNCED,
    /** (b) an arbitrary subset of the unsynced writes (or of their blocks) reached the medium. */
    KEEP_SUBSET,
    /** (c) one unsynced write torn in half, a random subset of the others kept. */
    TEAR_ONE
  }

  /**
   * A policy of {@code model} for {@code run}, its random choices derived from {@code seed}; for KEEP_SUBSET the
   * seed also picks between whole writes, file-system blocks and 512-byte sectors. Null for TEAR_ONE when
   * nothing was pending (there is no write to tear).
   */
  KeepPolicy policy(Model model, CutRun run, long seed) {
    PowerLossDevice dev = deviceCut(run);
    return switch (model) {
      case LOSE_UNSYNCED -> KeepPolicy.NONE;
      case KEEP_SUBSET -> switch ((int) Math.floorMod(seed, LOSE_ONE ? 4L : 3L)) {
        case 0 -> KeepPolicy.randomSubset(seed);
        case 1 -> KeepPolicy.randomBlocks(script.blockSize, seed);
        case 2 -> KeepPolicy.randomBlocks(512, seed);
        default -> {
          int pieces = dev.pendingPieces(script.blockSize);
          yield pieces == 0 ? KeepPolicy.NONE
              : KeepPolicy.loseOne(script.blockSize, new SplittableRandom(seed).nextInt(pieces));
        }
      };
      case TEAR_ONE -> {
        int pending = dev.pendingWriteCount();
        yield pending == 0 ? null : KeepPolicy.torn(new SplittableRandom(seed).nextInt(pending), seed);
      }
    };
  }

  /**
   * The same power loss seen by another device: a copy's cut leaves a source volume with its own (usually no)
   * pending writes, so a tear or prefix chosen among the destination's writes is mapped onto the source's.
   */
  static KeepPolicy fitTo(KeepPolicy policy, PowerLossDevice dev) {
    int pending = dev.pendingWriteCount();
    if (policy instanceof KeepPolicy.Torn t && t.index() >= pending) {
      return pending == 0 ? KeepPolicy.NONE : KeepPolicy.torn(t.index() % pending, t.seed());
    }
    if (policy instanceof KeepPolicy.Prefix p && p.n() > pending) {
      return KeepPolicy.prefix(pending);
    }
    if (policy instanceof KeepPolicy.LoseOne lo) {
      int pieces = dev.pendingPieces(lo.unit());
      if (lo.piece() >= pieces) {
        return pieces == 0 ? KeepPolicy.NONE : KeepPolicy.loseOne(lo.unit(), lo.piece() % pieces);
      }
    }
    return policy;
  }

  private static PowerLossDevice deviceCut(CutRun run) {
    return run.cx.copyDestination != null && run.cx.copyDestination.isCut() ? run.cx.copyDestination
        : run.cx.device;
  }

  // ------------------------------------------------------------------------------------------------ checking

  String context(CutRun run, KeepPolicy policy) {
    Step st = script.step(run.step);
    return label + ": crash index " + run.index + " of " + totalWrites() + " in step " + run.step + " '" + st.name()
        + "' (writes " + firstWriteOf(run.step) + ".." + (endWriteOf(run.step) - 1) + ")"
        + (st.during().isEmpty() ? "" : ", " + run.subAcked + " foreground op(s) acknowledged"
        + (run.subInFlight ? " and one in flight" : "")) + ", policy " + policy + ", "
        + deviceCut(run).pendingWriteCount() + " write(s) pending";
  }

  /** Checks one crash state; returns the failures (empty when it passes). */
  List<String> check(CutRun run, KeepPolicy policy) {
    String ctx = context(run, policy);
    List<String> out = new ArrayList<>();
    for (String p : run.problems) {
      out.add(ctx + ": " + p);
    }
    Step st = script.step(run.step);
    if (st.kind() == Kind.COPY) {
      if (!Arrays.equals(run.cx.device.snapshot(), run.sourceBeforeCopy)) {
        out.add(ctx + ": the copy changed its source volume's bytes");
      }
    }
    PowerLossDevice image = run.cx.device.powerLoss(fitTo(policy, run.cx.device));
    PowerLossDevice untouched = image.powerLoss(KeepPolicy.ALL);
    VirtualDisk disk;
    try {
      disk = VirtualDisk.open(image, OpenOptions.defaults());
    } catch (VdeException e) {
      if (st.kind() != Kind.CREATE) {
        out.add(ctx + ": open failed although the create was acknowledged: " + stackTrace(e));
      }
      return out;
    } catch (Throwable t) {
      out.add(ctx + ": open threw " + stackTrace(t));
      return out;
    }
    try {
      VolumeModel got = checkRecovered(disk, run, ctx, out);
      if (got == null) {
        return out;
      }
      checkReadOnly(untouched, got, ctx, out);
      if (st.kind() == Kind.COPY) {
        checkCopyDestination(run.cx.copyDestination.powerLoss(policy), got, st.modules(), ctx + ", destination", out);
      }
      VolumeModel expected = continueInterrupted(disk, image, got, run, ctx, out);
      if (expected == null) {
        return out;
      }
      disk.close();
      disk = null;
      try (VirtualDisk again = VirtualDisk.open(image.powerLoss(KeepPolicy.NONE), OpenOptions.defaults())) {
        String ctx2 = ctx + ", after continuing and a clean close";
        checkCleanAndEqual(again, expected, ctx2, out);
      }
    } catch (Throwable t) {
      out.add(ctx + ": checking the recovered volume threw " + stackTrace(t));
    } finally {
      TestVolumes.closeQuietly(disk);
    }
    return out;
  }

  /** Verify and the model of the recovered volume; null (with a failure added) when the model is not allowed. */
  private VolumeModel checkRecovered(VirtualDisk disk, CutRun run, String ctx, List<String> out) throws IOException {
    VerifyReport report = disk.verify(Progress.NONE);
    if (!report.clean()) {
      out.add(ctx + ": verify after recovery found problems:\n  " + TestVolumes.describe(report.problems()));
    }
    VolumeModel got = VolumeModel.readFrom(disk);
    List<VolumeModel> allowed = allowed(run);
    for (VolumeModel a : allowed) {
      if (got.sameAs(a)) {
        return got;
      }
    }
    StringBuilder sb = new StringBuilder(ctx + ": recovered state is none of the " + allowed.size()
        + " allowed ones;");
    for (int i = 0; i < Math.min(4, allowed.size()); i++) {
      sb.append("\n    vs allowed #").append(i).append(": ").append(got.diff(allowed.get(i)));
    }
    out.add(sb.toString());
    return null;
  }

  /**
   * The states a cut inside the run's step may leave. The tree part is the model before the step with every
   * acknowledged foreground operation of the step, and optionally the one in flight; the format part depends on
   * how far the step's own protocol got.
   */
  List<VolumeModel> allowed(CutRun run) {
    Step st = script.step(run.step);
    VolumeModel before = script.modelBefore(run.step);
    List<VolumeModel> trees = new ArrayList<>();
    VolumeModel acked = before.copy();
    for (int i = 0; i < run.subAcked; i++) {
      st.during().get(i).effect().accept(acked);
    }
    trees.add(acked);
    if (run.subInFlight) {
      VolumeModel with = acked.copy();
      st.during().get(run.subAcked).effect().accept(with);
      trees.add(with);
    }
    List<VolumeModel> out = new ArrayList<>();
    long bits = Module.manifestOf(st.modules());
    for (VolumeModel t : trees) {
      switch (st.kind()) {
        case CREATE, COPY, REOPEN, CLOSE -> out.add(t);
        case OP -> {
          out.add(t);
          out.add(script.modelAfter(run.step));
        }
        case MIGRATE -> {
          // Not yet recorded, recorded and copying, swapped but the old table not yet freed, complete.
          out.add(format(t, t.manifest, 0));
          out.add(format(t, t.manifest, bits));
          out.add(format(t, t.manifest | bits, bits));
          out.add(format(t, t.manifest | bits, 0));
        }
        case RESUME -> {
          out.add(format(t, t.manifest, bits));
          out.add(format(t, t.manifest | bits, bits));
          out.add(format(t, t.manifest | bits, 0));
        }
        case ROLLBACK -> {
          out.add(format(t, t.manifest, bits));
          out.add(format(t, t.manifest, 0));
        }
      }
    }
    return out;
  }

  private static VolumeModel format(VolumeModel tree, long manifest, long pending) {
    VolumeModel m = tree.copy();
    m.manifest = manifest;
    m.pending = pending;
    return m;
  }

  private void checkReadOnly(PowerLossDevice image, VolumeModel expected, String ctx, List<String> out)
      throws IOException {
    try (VirtualDisk ro = VirtualDisk.open(image, OpenOptions.readOnlyOptions())) {
      List<String> diff = VolumeModel.readFrom(ro).diff(expected);
      if (!diff.isEmpty()) {
        out.add(ctx + ": a read-only open shows another state than the writable recovery: " + diff);
      }
    }
    if (image.writeCount() != 0) {
      out.add(ctx + ": a read-only open wrote " + image.writeCount() + " time(s) to the image");
    }
  }

  /** A cut copy's destination: refused as incomplete (or as no volume), or complete and equal to the source. */
  private void checkCopyDestination(PowerLossDevice dest, VolumeModel source, List<Module> added, String ctx,
      List<String> out) {
    VirtualDisk copy;
    try {
      copy = VirtualDisk.open(dest, OpenOptions.defaults());
    } catch (VdeCorruptedException refused) {
      return;
    } catch (Throwable t) {
      out.add(ctx + ": an interrupted copy must be refused with VdeCorruptedException, open threw "
          + stackTrace(t));
      return;
    }
    try {
      checkCleanAndEqual(copy, copyModel(source, added), ctx + " opened as a complete copy", out);
    } catch (Throwable t) {
      out.add(ctx + ": reading the destination threw " + stackTrace(t));
    } finally {
      TestVolumes.closeQuietly(copy);
    }
  }

  private static VolumeModel copyModel(VolumeModel source, List<Module> added) {
    VolumeModel m = source.copy();
    m.addModules(added);
    return m;
  }

  private static void checkCleanAndEqual(VirtualDisk disk, VolumeModel expected, String ctx, List<String> out)
      throws IOException {
    VerifyReport report = disk.verify(Progress.NONE);
    if (!report.clean()) {
      out.add(ctx + ": verify found problems:\n  " + TestVolumes.describe(report.problems()));
    }
    List<String> diff = VolumeModel.readFrom(disk).diff(expected);
    if (!diff.isEmpty()) {
      out.add(ctx + ": " + diff);
    }
  }

  // ------------------------------------------------------------------------------------------------ continuing

  /**
   * Finishes what the cut interrupted on the recovered {@code disk} and returns the model it must then show (after
   * checking it), or null when a failure was added and there is no point in going on.
   */
  private VolumeModel continueInterrupted(VirtualDisk disk, PowerLossDevice image, VolumeModel got, CutRun run,
      String ctx, List<String> out) throws IOException {
    Step st = script.step(run.step);
    VolumeModel expected = got;
    String cctx = ctx + ", continuing";
    switch (st.kind()) {
      case OP -> {
        VolumeModel before = script.modelBefore(run.step);
        VolumeModel after = script.modelAfter(run.step);
        if (got.sameAs(before) && !before.sameAs(after)) {
          // The operation was lost: the application would issue it again, and it must work.
          RunContext redo = new RunContext(image);
          redo.disk = disk;
          st.action().run(redo);
          expected = after;
          cctx = ctx + ", after redoing the lost operation";
        }
      }
      case MIGRATE, RESUME, ROLLBACK -> {
        if (got.pending != 0) {
          if (st.kind() != Kind.ROLLBACK) {
            checkRollbackBranch(image.powerLoss(KeepPolicy.ALL), got, ctx + ", rollback branch", out);
          }
          expected = finishPending(disk, got, st.kind() == Kind.ROLLBACK, cctx, out);
          if (expected == null) {
            return null;
          }
        } else if (st.kind() == Kind.MIGRATE && (got.manifest & Module.manifestOf(st.modules()))
            != Module.manifestOf(st.modules())) {
          // Cut before the migration was recorded: starting it again must work.
          InodeMigration.start(disk, st.modules(), MigrationOptions.defaults().checkpointEvery(script.checkpointEvery));
          expected = copyModel(got, st.modules());
          cctx = ctx + ", after starting the unrecorded migration again";
        }
      }
      case COPY -> {
        PowerLossDevice again = new PowerLossDevice("copy again");
        ExtentAwareCopy.copy(disk, again, Script.copyOptions(st.modules()));
        try (VirtualDisk copy = VirtualDisk.open(again, OpenOptions.defaults())) {
          checkCleanAndEqual(copy, copyModel(got, st.modules()), ctx + ", copying again after recovery", out);
        }
      }
      case CREATE, REOPEN, CLOSE -> {
        // Nothing was in progress that the application would continue.
      }
    }
    checkCleanAndEqual(disk, expected, cctx, out);
    return expected;
  }

  /**
   * Finishes a pending migration: rolls it back when the step was a rollback or its checkpoint says ROLLING_BACK
   * (resume must then be refused), otherwise resumes it.
   */
  private VolumeModel finishPending(VirtualDisk disk, VolumeModel got, boolean rollback, String ctx,
      List<String> out) throws IOException {
    MigrationCheckpoint c = InodeMigration.status(disk);
    boolean rollingBack = c != null && c.phase() == MigrationCheckpoint.Phase.ROLLING_BACK;
    if (rollingBack) {
      try {
        InodeMigration.resume(disk, MigrationOptions.defaults().checkpointEvery(script.checkpointEvery));
        out.add(ctx + ": resume accepted a migration whose checkpoint says ROLLING_BACK");
        return null;
      } catch (VdeInvalidArgumentException expected) {
        // A rollback that was cut must be finished by rollback, never turned into a completed migration.
      }
    }
    VolumeModel expected = got.copy();
    expected.pending = 0;
    if (rollback || rollingBack) {
      InodeLayout layout = disk.volume().superblock().layout();
      InodeMigration.rollback(disk);
      checkRolledBack(disk, got, layout, ctx, out);
    } else {
      InodeMigration.resume(disk, MigrationOptions.defaults().checkpointEvery(script.checkpointEvery));
      expected.manifest |= got.pending;
    }
    return expected;
  }

  /** From a separate copy of the recovered image: rollback works before the swap and is refused after it. */
  private void checkRollbackBranch(PowerLossDevice copy, VolumeModel got, String ctx, List<String> out) {
    try (VirtualDisk d = VirtualDisk.open(copy, OpenOptions.defaults())) {
      boolean swapped = d.volume().regions().find(RegionDirectory.TAG_INODES_OLD) != null;
      VolumeModel expected = got.copy();
      expected.pending = 0;
      if (swapped) {
        try {
          InodeMigration.rollback(d);
          out.add(ctx + ": rollback accepted a migration whose swap had committed");
          return;
        } catch (VdeInvalidArgumentException refused) {
          // As documented: after the swap only resume can finish it.
        }
        InodeMigration.resume(d, MigrationOptions.defaults().checkpointEvery(script.checkpointEvery));
        expected.manifest |= got.pending;
      } else {
        InodeLayout layout = d.volume().superblock().layout();
        InodeMigration.rollback(d);
        checkRolledBack(d, got, layout, ctx, out);
      }
      checkCleanAndEqual(d, expected, ctx, out);
    } catch (Throwable t) {
      out.add(ctx + ": threw " + stackTrace(t));
    }
  }

  /** A rollback restores the layout and drops the new table and the pending modules' regions. */
  private static void checkRolledBack(VirtualDisk d, VolumeModel got, InodeLayout layoutBefore, String ctx,
      List<String> out) {
    if (!d.volume().superblock().layout().equals(layoutBefore)) {
      out.add(ctx + ": rollback changed the inode layout from " + layoutBefore + " to "
          + d.volume().superblock().layout());
    }
    RegionDirectory rd = d.volume().regions();
    if (rd.find(RegionDirectory.TAG_INODES_NEW) != null) {
      out.add(ctx + ": the new inode table (INOM) is still in the region directory after rollback");
    }
    for (Module m : Module.fromManifest(got.pending & ~got.manifest)) {
      if (!rd.moduleRegions(m.id()).isEmpty()) {
        out.add(ctx + ": rollback left the regions of " + m.displayName() + ": " + rd.moduleRegions(m.id()));
      }
    }
  }

  // ------------------------------------------------------------------------------------------------ sweeps

  /**
   * Runs {@code script} without a cut and compares the volume with the script's model after every step, then
   * reopens the closed volume with unsynced writes lost and checks it is clean and final. Returns the mismatches:
   * a script whose models are wrong would make every crash verdict meaningless.
   */
  static List<String> uninterruptedProblems(Script script) throws IOException {
    RunContext cx = new RunContext(new PowerLossDevice("uninterrupted"));
    List<String> problems = new ArrayList<>();
    for (int s = 0; s < script.size(); s++) {
      runStep(script.step(s), cx);
      if (script.step(s).kind() != Kind.CLOSE) {
        List<String> diff = VolumeModel.readFrom(cx.disk).diff(script.modelAfter(s));
        if (!diff.isEmpty()) {
          problems.add("after step " + s + " '" + script.step(s).name() + "': " + diff);
        }
      }
    }
    if (script.step(script.size() - 1).kind() != Kind.CLOSE) {
      problems.add("the script does not end with a close");
      return problems;
    }
    try (VirtualDisk d = VirtualDisk.open(cx.device.powerLoss(KeepPolicy.NONE), OpenOptions.defaults())) {
      VerifyReport r = d.verify(Progress.NONE);
      if (!r.clean()) {
        problems.add("verify after the uninterrupted script: " + TestVolumes.describe(r.problems()));
      }
      List<String> diff = VolumeModel.readFrom(d).diff(script.modelAfter(script.size() - 1));
      if (!diff.isEmpty()) {
        problems.add("after the final close and reopen: " + diff);
      }
    }
    return problems;
  }

  /** Checks crash index {@code v} under each policy of {@code models}; the seed varies per index and model. */
  void checkIndex(long v, List<Model> models, long seed, Findings f) {
    CutRun run = runWithCut(v);
    for (Model m : models) {
      KeepPolicy p = policy(m, run, mix(seed, v, m.ordinal()));
      if (p != null) {
        f.add(check(run, p));
      }
    }
  }

  /** A seed unique to (base seed, crash index, variant). */
  static long mix(long seed, long index, int variant) {
    return new SplittableRandom(seed ^ (index * 0x9E3779B97F4A7C15L) ^ ((long) variant << 48)).nextLong();
  }

  static String stackTrace(Throwable t) {
    StringWriter w = new StringWriter();
    t.printStackTrace(new PrintWriter(w));
    String[] lines = w.toString().split("\n");
    return String.join("\n", Arrays.copyOf(lines, Math.min(lines.length, 16)));
  }
}
