package dev.vde.crash;

import dev.vde.Progress;
import dev.vde.VdeException;
import dev.vde.check.VerifyReport;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.BlockDevice;
import dev.vde.testing.FsModel;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * Replays a {@link Workload} with a power cut at a chosen write, applies a keep policy to the unsynced writes,
 * reopens, and checks the recovered volume against the model: verify is clean, every acknowledged step is
 * present, the step in flight is wholly present or wholly absent, and the volume still accepts writes.
 *
 * <p>Every failure message carries the block size, crash index, the step in flight, the policy with its seed and
 * the base seed ({@code -Dvde.crash.seed}), which together replay the case exactly:
 * {@code harness.check(harness.runWithCut(index), policy)}.
 */
final class CrashHarness {
  /** Base of every seed the sweeps derive; override with -Dvde.crash.seed=N to explore other subsets. */
  static final long BASE_SEED = Long.getLong("vde.crash.seed", 0x5EED_CAFEL);

  private static final String AFTER_RECOVERY = "/after-recovery";

  final Workload workload;
  /** {@code stepStart[s]} is the global index of step s's first write in an uninterrupted run. */
  private final long[] stepStart;
  private final long totalWrites;

  /** How the engine sees a run's device; the identity except in the harness's own tests. */
  private final Function<PowerLossDevice, BlockDevice> deviceView;

  CrashHarness(Workload workload) throws IOException {
    this(workload, dev -> dev);
  }

  /** A harness whose engine reaches each run's device through {@code deviceView} (e.g. a faulty wrapper). */
  CrashHarness(Workload workload, Function<PowerLossDevice, BlockDevice> deviceView) throws IOException {
    this.workload = workload;
    this.deviceView = deviceView;
    this.stepStart = new long[workload.size() + 1];
    PowerLossDevice dev = new PowerLossDevice(deviceName());
    VirtualDisk disk = null;
    for (int s = 0; s < workload.size(); s++) {
      stepStart[s] = dev.writeCount();
      disk = runStep(s, dev, disk);
    }
    stepStart[workload.size()] = dev.writeCount();
    this.totalWrites = dev.writeCount();
  }

  /** Writes of one uninterrupted run, create and close included: the number of crash points. */
  long totalWrites() {
    return totalWrites;
  }

  long firstWriteOf(int step) {
    return stepStart[step];
  }

  long endWriteOf(int step) {
    return stepStart[step + 1];
  }

  /** The step an uninterrupted run was in when it issued write {@code index}. */
  int stepOfWrite(long index) {
    for (int s = 0; s < workload.size(); s++) {
      if (index < stepStart[s + 1]) {
        return s;
      }
    }
    return -1;
  }

  private String deviceName() {
    return "crash volume bs=" + workload.blockSize;
  }

  /** Runs step {@code s}; returns the disk to use for the next step (the created one after step 0). */
  VirtualDisk runStep(int s, PowerLossDevice dev, VirtualDisk disk) throws IOException {
    Workload.Step step = workload.step(s);
    if (step.kind() == Workload.Kind.CREATE) {
      return VirtualDisk.create(deviceView.apply(dev), TestVolumes.options(workload.blockSize));
    }
    step.action().run(disk);
    return disk;
  }

  // ------------------------------------------------------------------------------------------------ cut runs

  /** A workload run stopped by a power cut. */
  static final class CutRun {
    final long crashIndex;
    final PowerLossDevice device;
    /** The step whose call did not return; every earlier step was acknowledged. */
    final int inFlight;
    final Throwable thrown;
    /** Problems seen while running (not while recovering), e.g. the cut surfacing as a raw runtime exception. */
    final List<String> runProblems = new ArrayList<>();

    CutRun(long crashIndex, PowerLossDevice device, int inFlight, Throwable thrown) {
      this.crashIndex = crashIndex;
      this.device = device;
      this.inFlight = inFlight;
      this.thrown = thrown;
    }
  }

  /** Runs the workload on a fresh device with a cut armed at global write {@code index}. */
  CutRun runWithCut(long index) {
    PowerLossDevice dev = new PowerLossDevice(deviceName());
    dev.crashAt(index);
    VirtualDisk disk = null;
    for (int s = 0; s < workload.size(); s++) {
      try {
        disk = runStep(s, dev, disk);
      } catch (Throwable t) {
        CutRun run = new CutRun(index, dev, s, t);
        if (!dev.isCut()) {
          run.runProblems.add("step failed although the power was still on: " + stackTrace(t));
        } else if (!(t instanceof IOException)) {
          // The contract is that an I/O failure surfaces as an IOException; anything else means the engine
          // let the device error escape as a bug-shaped exception.
          run.runProblems.add("the power cut surfaced as " + t.getClass().getName() + " instead of an IOException: "
              + stackTrace(t));
        }
        int expected = stepOfWrite(index);
        if (expected != s) {
          run.runProblems.add("nondeterministic workload: write #" + index + " belonged to step " + expected
              + " in the uninterrupted run but the cut hit step " + s);
        }
        return run;
      }
    }
    CutRun run = new CutRun(index, dev, workload.size(), null);
    run.runProblems.add("the cut at write #" + index + " was never reached (the run issued " + dev.writeCount()
        + " writes; the uninterrupted run issued " + totalWrites + ")");
    return run;
  }

  // ------------------------------------------------------------------------------------------------ checking

  String context(CutRun run, KeepPolicy policy) {
    String step;
    if (run.inFlight < workload.size()) {
      step = "step " + run.inFlight + " '" + workload.step(run.inFlight).name() + "' (its writes are #"
          + firstWriteOf(run.inFlight) + "..#" + (endWriteOf(run.inFlight) - 1) + ")";
    } else {
      step = "no step";
    }
    return "bs=" + workload.blockSize + " crash index " + run.crashIndex + " in " + step + ", policy " + policy
        + ", pending writes at cut " + run.device.pendingWriteCount() + ", base seed " + BASE_SEED;
  }

  /** Checks one recovery; returns the failures found (empty when the case passes). */
  List<String> check(CutRun run, KeepPolicy policy, boolean checkWritable) {
    String ctx = context(run, policy);
    List<String> out = new ArrayList<>();
    for (String p : run.runProblems) {
      out.add(ctx + ": " + p);
    }
    if (run.inFlight < workload.size()) {
      checkImage(run.device.powerLoss(policy), run.inFlight, ctx, checkWritable, out);
    }
    return out;
  }

  /**
   * Power fails again while the volume recovers: every write the recovering open issues (WAL replay, checkpoint,
   * superblock repair) is cut in turn, {@code second} picks what of it survives, and the image must then recover
   * to the same acceptable trees. Recovery that is not restartable turns one crash into permanent damage.
   */
  List<String> checkCrashDuringRecovery(CutRun run, KeepPolicy policy, Function<Long, KeepPolicy> second) {
    List<String> out = new ArrayList<>();
    if (run.inFlight >= workload.size()) {
      return out;
    }
    String ctx = context(run, policy);
    PowerLossDevice image = run.device.powerLoss(policy);
    PowerLossDevice probe = image.powerLoss(KeepPolicy.ALL);
    long recoveryWrites;
    try {
      VirtualDisk d = VirtualDisk.open(probe, OpenOptions.defaults());
      recoveryWrites = probe.writeCount();
      TestVolumes.closeQuietly(d);
    } catch (VdeException e) {
      // No volume to recover (an interrupted create); check() judges that case.
      return out;
    } catch (Throwable t) {
      out.add(ctx + ": open threw " + stackTrace(t));
      return out;
    }
    for (long k = 0; k < recoveryWrites; k++) {
      PowerLossDevice again = image.powerLoss(KeepPolicy.ALL);
      again.crashAt(k);
      KeepPolicy p2 = second.apply(k);
      String ctx2 = ctx + ", then a crash at write " + k + " of the " + recoveryWrites + " the recovering open issues, "
          + "policy " + p2;
      try {
        VirtualDisk d = VirtualDisk.open(again, OpenOptions.defaults());
        TestVolumes.closeQuietly(d);
        out.add(ctx2 + ": open returned normally although one of its writes failed");
      } catch (IOException expected) {
        // The cut surfaced as an I/O failure, as it must.
      } catch (Throwable t) {
        out.add(ctx2 + ": the cut surfaced as " + stackTrace(t));
      }
      checkImage(again.powerLoss(p2), run.inFlight, ctx2, false, out);
    }
    return out;
  }

  /** Opens a recovered image and checks it against the trees before and after step {@code s}. */
  private void checkImage(PowerLossDevice recovered, int s, String ctx, boolean checkWritable, List<String> out) {
    // An untouched copy for the read-only recovery check: the writable open below rewrites the image.
    PowerLossDevice unopened = recovered.powerLoss(KeepPolicy.ALL);
    VirtualDisk disk;
    try {
      disk = VirtualDisk.open(recovered, OpenOptions.defaults());
    } catch (VdeException e) {
      if (s != 0) {
        out.add(ctx + ": open failed although step 0 (create) was acknowledged: " + stackTrace(e));
      } else if (e.getMessage() == null || e.getMessage().isEmpty()) {
        out.add(ctx + ": open of an unfinished volume failed with an empty message: " + e.getClass().getName());
      }
      // An interrupted create may leave no volume at all; refusing it with a vde exception is correct.
      return;
    } catch (Throwable t) {
      out.add(ctx + ": open threw " + stackTrace(t));
      return;
    }
    try {
      VerifyReport report = disk.verify(Progress.NONE);
      if (!report.clean()) {
        out.add(ctx + ": verify found problems:\n  " + TestVolumes.describe(report.problems()));
      }
      FsModel tree = FsModel.readFrom(disk);
      FsModel before = s == 0 ? new FsModel() : workload.modelAfter(s - 1);
      FsModel afterStep = workload.modelAfter(s);
      if (workload.step(s).kind() == Workload.Kind.OVERWRITE) {
        String torn = overwriteProblem(tree);
        if (torn != null) {
          out.add(ctx + ": " + torn);
        }
      }
      if (!tree.sameAs(before) && !tree.sameAs(afterStep)) {
        out.add(ctx + ": recovered tree is neither the tree before step " + s + " nor after it;\n    vs before: "
            + tree.diff(before) + "\n    vs after: " + tree.diff(afterStep));
      } else if (checkWritable) {
        checkReadOnlyRecovery(unopened, tree, ctx, out);
        checkWritable(disk, recovered, tree, ctx, out);
        disk = null;
      }
    } catch (Throwable t) {
      out.add(ctx + ": reading the recovered volume threw " + stackTrace(t));
    } finally {
      TestVolumes.closeQuietly(disk);
    }
  }

  /**
   * For the overwrite step: the target must hold exactly the old or exactly the new bytes; returns a description
   * of the mix otherwise, or null.
   */
  String overwriteProblem(FsModel tree) {
    String path = Workload.OVERWRITE_TARGET;
    if (!tree.isFile(path)) {
      return "overwrite target " + path + " is missing after recovery";
    }
    byte[] got = tree.content(path);
    byte[] oldBytes = workload.overwriteOld();
    byte[] newBytes = workload.overwriteNew();
    if (Arrays.equals(got, oldBytes) || Arrays.equals(got, newBytes)) {
      return null;
    }
    if (got.length != oldBytes.length) {
      return "overwrite target has " + got.length + " bytes, expected " + oldBytes.length;
    }
    StringBuilder sb = new StringBuilder("overwrite is neither all old nor all new: ");
    String run = null;
    int runStart = 0;
    for (int i = 0; i <= got.length; i++) {
      String kind = i == got.length ? null
          : got[i] == newBytes[i] && got[i] == oldBytes[i] ? "same" : got[i] == newBytes[i] ? "new"
          : got[i] == oldBytes[i] ? "old" : "neither";
      if (!java.util.Objects.equals(kind, run)) {
        if (run != null && !"same".equals(run)) {
          sb.append('[').append(runStart).append(", ").append(i).append(") ").append(run).append("; ");
        }
        run = kind;
        runStart = i;
      }
    }
    return sb.toString();
  }

  /**
   * A read-only open replays the WAL in memory only: it must show the same tree as the writable recovery and
   * must not write a single byte to the crashed image.
   */
  private void checkReadOnlyRecovery(PowerLossDevice image, FsModel expected, String ctx, List<String> out)
      throws IOException {
    VirtualDisk ro = VirtualDisk.open(image, OpenOptions.readOnlyOptions());
    try {
      List<String> diff = FsModel.readFrom(ro).diff(expected);
      if (!diff.isEmpty()) {
        out.add(ctx + ": read-only recovery shows another tree than writable recovery: " + diff);
      }
      if (!ro.isReadOnly()) {
        out.add(ctx + ": a volume opened read-only says it is writable");
      }
    } finally {
      TestVolumes.closeQuietly(ro);
    }
    if (image.writeCount() != 0) {
      out.add(ctx + ": read-only open wrote " + image.writeCount() + " time(s) to the image");
    }
  }

  /**
   * A recovered volume must also be usable: the bitmap and inode table recovery left behind must not hand out
   * live blocks. Writes a new file, closes, drops anything unsynced, reopens and compares again.
   */
  private void checkWritable(VirtualDisk disk, PowerLossDevice recovered, FsModel tree, String ctx, List<String> out)
      throws IOException {
    byte[] data = SeededBytes.bytes(workload.blockSize, 2 * workload.payload + 3);
    String path = tree.exists(AFTER_RECOVERY) ? AFTER_RECOVERY + "2" : AFTER_RECOVERY;
    disk.writeFile(path, data);
    disk.close();
    FsModel expected = tree.copy();
    expected.writeFile(path, data);
    VirtualDisk again = VirtualDisk.open(recovered.powerLoss(KeepPolicy.NONE), OpenOptions.defaults());
    try {
      VerifyReport report = again.verify(Progress.NONE);
      if (!report.clean()) {
        out.add(ctx + ": after writing to the recovered volume and reopening, verify found problems:\n  "
            + TestVolumes.describe(report.problems()));
      }
      List<String> diff = FsModel.readFrom(again).diff(expected);
      if (!diff.isEmpty()) {
        out.add(ctx + ": after writing " + path + " to the recovered volume and reopening: " + diff);
      }
    } finally {
      TestVolumes.closeQuietly(again);
    }
  }

  // ------------------------------------------------------------------------------------------------ policies

  /** A seed unique to (block size, crash index, variant) under the base seed. */
  long seedFor(long index, int variant) {
    long x = BASE_SEED ^ (workload.blockSize * 0x9E3779B97F4A7C15L) ^ (index * 0xC2B2AE3D27D4EB4FL) ^ variant;
    return new SplittableRandom(x).nextLong();
  }

  /** A TORN policy for {@code run} whose torn write is chosen by the seed. */
  KeepPolicy seededTorn(CutRun run, long seed) {
    int pending = run.device.pendingWriteCount();
    return KeepPolicy.torn(new SplittableRandom(seed).nextInt(pending), seed);
  }

  static String stackTrace(Throwable t) {
    StringWriter w = new StringWriter();
    t.printStackTrace(new PrintWriter(w));
    String s = w.toString();
    // The first frames locate the fault; the rest is the harness and JUnit.
    String[] lines = s.split("\n");
    return String.join("\n", Arrays.copyOf(lines, Math.min(lines.length, 14)));
  }
}
