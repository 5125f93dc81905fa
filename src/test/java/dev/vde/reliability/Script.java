package dev.vde.reliability;

import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.BlockDevice;
import dev.vde.module.InPlaceAddition;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.module.Tags;
import dev.vde.module.copy.CopyOptions;
import dev.vde.module.copy.ExtentAwareCopy;
import dev.vde.testing.FsModel;
import dev.vde.testing.PowerLossDevice;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * A workload the crash campaign replays: a list of steps, each one call the engine or module management must make
 * atomic and durable, with its effect on the {@link VolumeModel}. The model after every step is precomputed, so
 * for a cut inside step {@code s} the acceptable recovered states are derived from the models before and after it.
 *
 * <p>Built either by hand ({@link ScriptedWorkload}) or from a seed ({@link RandomWorkload}); both go through the
 * same builder methods here, which keep the model in step with the operations they add, so a builder can only
 * add operations that are valid in the state it has reached.
 */
final class Script {

  /** How a step is judged after a cut inside it and how the campaign continues it. */
  enum Kind {
    /** Creates the volume: a cut may leave no volume at all. */
    CREATE,
    /** One atomic engine or format call: all of it or none of it survives; redone when it was lost. */
    OP,
    /** {@link InodeMigration#start}, possibly cancelled after some batches so that it stays pending. */
    MIGRATE,
    /** {@link InodeMigration#resume} of a pending migration. */
    RESUME,
    /** {@link InodeMigration#rollback} of a pending migration. */
    ROLLBACK,
    /** {@link ExtentAwareCopy} of the volume onto a second device; the source is only read. */
    COPY,
    /** Close, then open again on the same device: a clean restart. */
    REOPEN,
    /** The final close. */
    CLOSE
  }

  /** What a step does. */
  @FunctionalInterface
  interface Action {
    void run(RunContext cx) throws IOException;
  }

  /**
   * A foreground operation's I/O failure (the power cut, normally) carried out of the migration's progress
   * listener, which cannot throw checked exceptions; the campaign unwraps exactly this type and nothing the engine
   * throws.
   */
  static final class ForegroundFailure extends UncheckedIOException {
    private static final long serialVersionUID = 1L;

    ForegroundFailure(IOException cause) {
      super(cause);
    }
  }

  /** A foreground operation run from the migration's progress listener, while the migration is in flight. */
  record SubOp(String name, Action action, Consumer<VolumeModel> effect) {}

  /**
   * One step. {@code modules} are what a MIGRATE adds or what a COPY adds to the destination; {@code during} are
   * the foreground operations a MIGRATE or RESUME runs from its progress listener, one per progress report;
   * {@code cancelAfter} is the number of progress reports after which a MIGRATE is cancelled (so it stays
   * pending), or -1 to let it finish.
   */
  record Step(String name, Kind kind, Action action, Consumer<VolumeModel> effect, List<Module> modules,
      List<SubOp> during, int cancelAfter) {}

  /** Everything one run of a script works on; a fresh one per run. */
  static final class RunContext {
    final PowerLossDevice device;
    VirtualDisk disk;
    /** The destination of the copy step in flight, created by it. */
    PowerLossDevice copyDestination;
    /** Cut armed for the next copy destination (-1: none), as a write index of that device. */
    long copyCutAt = -1;
    /** Foreground operations of the current step that returned, and whether the next one had been called. */
    int subAcked;
    boolean subInFlight;

    /** How the engine sees the device: the device itself, except in the harness's own tests (a faulty disk). */
    UnaryOperator<BlockDevice> view = d -> d;

    RunContext(PowerLossDevice device) {
      this.device = device;
    }

    /** The device as a volume opens it: the view, kept open across a close so the script can reopen it. */
    BlockDevice volumeDevice() {
      return new KeepOpenDevice(view.apply(device));
    }
  }

  final int blockSize;
  final CreateOptions create;
  /** Migration checkpoint interval in inodes: small, so a migration of a few hundred inodes records many. */
  final int checkpointEvery;
  private final List<Step> steps = new ArrayList<>();
  private final List<VolumeModel> after = new ArrayList<>();
  private VolumeModel current = new VolumeModel();
  private int nameSeq;

  Script(CreateOptions create, int checkpointEvery) {
    this.blockSize = create.blockSize();
    this.create = create;
    this.checkpointEvery = checkpointEvery;
    add("create " + create.sizeBytes() / 1024 + " KiB bs=" + blockSize, Kind.CREATE,
        cx -> cx.disk = VirtualDisk.create(cx.volumeDevice(), create), m -> { }, List.of(), List.of(), -1);
  }

  List<Step> steps() {
    return Collections.unmodifiableList(steps);
  }

  Step step(int s) {
    return steps.get(s);
  }

  int size() {
    return steps.size();
  }

  /** The model once step {@code s} was acknowledged (a copy). */
  VolumeModel modelAfter(int s) {
    return after.get(s).copy();
  }

  /** The model before step {@code s} (a copy); empty before the create. */
  VolumeModel modelBefore(int s) {
    return s == 0 ? new VolumeModel() : modelAfter(s - 1);
  }

  /** The model the builder has reached: what the next step starts from. Read only. */
  VolumeModel current() {
    return current;
  }

  int payload() {
    return blockSize - 16;
  }

  /** A name not used before in this script, for generated paths. */
  String freshName(String prefix) {
    return prefix + (nameSeq++);
  }

  // ------------------------------------------------------------------------------------------------ builders

  private void add(String name, Kind kind, Action action, Consumer<VolumeModel> effect, List<Module> modules,
      List<SubOp> during, int cancelAfter) {
    Step st = new Step(name, kind, action, effect, List.copyOf(modules), List.copyOf(during), cancelAfter);
    VolumeModel next = current.copy();
    for (SubOp o : during) {
      o.effect().accept(next);
    }
    effect.accept(next);
    steps.add(st);
    after.add(next);
    current = next;
  }

  /** An atomic operation on the open disk. */
  Script op(String name, DiskAction action, Consumer<VolumeModel> effect) {
    add(name, Kind.OP, cx -> action.run(cx.disk), effect, List.of(), List.of(), -1);
    return this;
  }

  /** A disk call, as the steps issue it. */
  @FunctionalInterface
  interface DiskAction {
    void run(VirtualDisk disk) throws IOException;
  }

  Script mkdir(String p) {
    return op("mkdir " + p, d -> d.mkdir(p), m -> m.tree.mkdir(p));
  }

  /** mkdirs of a path whose missing levels are created in one transaction. */
  Script mkdirs(String p) {
    List<String> missing = new ArrayList<>();
    for (String q = p; !q.equals("/") && !current.tree.isDir(q); q = FsModel.parentOf(q)) {
      missing.add(0, q);
    }
    return op("mkdirs " + p, d -> d.mkdirs(p), m -> missing.forEach(m.tree::mkdir));
  }

  Script writeFile(String p, byte[] data) {
    return op("writeFile " + p + " (" + data.length + " bytes)", d -> d.writeFile(p, data), m -> m.writeFile(p, data));
  }

  /** writeFile from a stream, the path the CLI's put takes. */
  Script writeStream(String p, byte[] data) {
    return op("writeFile(stream) " + p + " (" + data.length + " bytes)",
        d -> d.writeFile(p, new ByteArrayInputStream(data)), m -> m.writeFile(p, data));
  }

  Script write(String p, long pos, byte[] data) {
    return op("write " + p + " @" + pos + " (" + data.length + " bytes)", d -> d.write(p, pos, data, 0, data.length),
        m -> m.tree.write(p, pos, data));
  }

  Script append(String p, byte[] data) {
    return op("append " + p + " (" + data.length + " bytes)", d -> d.append(p, data), m -> m.tree.append(p, data));
  }

  Script truncate(String p, long size) {
    return op("truncate " + p + " to " + size, d -> d.truncate(p, size), m -> m.tree.truncate(p, size));
  }

  Script delete(String p) {
    return op("delete " + p, d -> d.delete(p), m -> m.delete(p));
  }

  Script rename(String from, String to) {
    return op("rename " + from + " -> " + to, d -> d.rename(from, to), m -> m.rename(from, to));
  }

  Script checkpoint() {
    return op("checkpoint", VirtualDisk::checkpoint, m -> { });
  }

  /** A batch of file writes and mkdirs that must survive all or nothing (it fits in the WAL). */
  Script batch(String name, List<SubOp> ops) {
    return op("batch " + name, d -> d.batch(x -> {
      for (SubOp o : ops) {
        o.action().run(contextFor(x));
      }
    }), m -> ops.forEach(o -> o.effect().accept(m)));
  }

  private static RunContext contextFor(VirtualDisk disk) {
    RunContext cx = new RunContext(null);
    cx.disk = disk;
    return cx;
  }

  /** Claims inode padding for a field-only module (Transit): one format transaction. */
  Script paddingClaim(Module m) {
    return op("padding claim " + m.abbreviation(), d -> InPlaceAddition.add(d, List.of(m)),
        x -> x.addModules(List.of(m)));
  }

  /** Adds a region-only module (Integrity): one format transaction. */
  Script regionAddition(Module m) {
    return op("region addition " + m.abbreviation(), d -> InPlaceAddition.add(d, List.of(m)),
        x -> x.addModules(List.of(m)));
  }

  Script setTransit(String p, byte v) {
    return op("Transit of " + p + " = " + v, d -> d.writeModuleField(p, Module.TRANSIT, new byte[] {v}),
        m -> m.setTransit(p, v));
  }

  Script setTag(String p, String key, String value) {
    return op("tag " + p + " " + key + "=" + value, d -> Tags.set(d, p, key, value), m -> m.setTag(p, key, value));
  }

  Script removeTag(String p, String key) {
    return op("untag " + p + " " + key, d -> Tags.remove(d, p, key), m -> m.removeTag(p, key));
  }

  /**
   * Starts a migration adding {@code modules}; the listener runs one of {@code during} per progress report and,
   * when {@code cancelAfter >= 0}, cancels after that many reports so the migration stays pending.
   */
  Script migrate(List<Module> modules, List<SubOp> during, int cancelAfter) {
    if (cancelAfter >= 0 && during.size() > cancelAfter) {
      throw new IllegalArgumentException("script error: " + during.size() + " foreground ops but the migration is "
          + "cancelled after " + cancelAfter + " progress reports, one op each");
    }
    long pendingBits = Module.manifestOf(modules);
    add("migrate +" + abbreviations(modules) + (cancelAfter >= 0 ? " (cancelled after " + cancelAfter
        + " batches)" : "") + (during.isEmpty() ? "" : " with " + during.size() + " foreground ops"),
        Kind.MIGRATE, cx -> {
          MigrationControl control = new MigrationControl(0, false);
          InodeMigration.start(cx.disk, modules, options(cx, during, cancelAfter, control));
        }, m -> {
          if (cancelAfter >= 0) {
            m.pending = pendingBits;
          } else {
            m.addModules(modules);
          }
        }, modules, during, cancelAfter);
    return this;
  }

  /** Resumes the pending migration to its end, running {@code during} from its listener. */
  Script resume(List<SubOp> during) {
    long pendingBits = current.pending;
    if (pendingBits == 0) {
      throw new IllegalStateException("script error: resume without a pending migration");
    }
    add("resume +" + abbreviations(Module.fromManifest(pendingBits)) + (during.isEmpty() ? "" : " with "
        + during.size() + " foreground ops"), Kind.RESUME,
        cx -> InodeMigration.resume(cx.disk, options(cx, during, -1, new MigrationControl(0, false))), m -> {
          m.manifest |= pendingBits;
          m.pending = 0;
        }, Module.fromManifest(pendingBits), during, -1);
    return this;
  }

  Script rollback() {
    if (current.pending == 0) {
      throw new IllegalStateException("script error: rollback without a pending migration");
    }
    add("rollback +" + abbreviations(Module.fromManifest(current.pending)), Kind.ROLLBACK,
        cx -> InodeMigration.rollback(cx.disk), m -> m.pending = 0, Module.fromManifest(current.pending), List.of(),
        -1);
    return this;
  }

  /** Copies the volume onto a new second device, adding {@code modules} there. The source does not change. */
  Script copy(List<Module> modules) {
    add("copy +" + abbreviations(modules), Kind.COPY, cx -> {
      cx.copyDestination = new PowerLossDevice("copy destination");
      if (cx.copyCutAt >= 0) {
        cx.copyDestination.crashAt(cx.copyCutAt);
      }
      ExtentAwareCopy.copy(cx.disk, cx.copyDestination, copyOptions(modules));
    }, m -> { }, modules, List.of(), -1);
    return this;
  }

  static CopyOptions copyOptions(List<Module> modules) {
    return CopyOptions.defaults().modulesToAdd(modules.isEmpty() ? EnumSet.noneOf(Module.class)
        : EnumSet.copyOf(modules));
  }

  Script reopen() {
    add("close and reopen", Kind.REOPEN, cx -> {
      cx.disk.close();
      cx.disk = null;
      cx.disk = VirtualDisk.open(cx.volumeDevice(), OpenOptions.defaults());
    }, m -> { }, List.of(), List.of(), -1);
    return this;
  }

  Script close() {
    add("close", Kind.CLOSE, cx -> cx.disk.close(), m -> { }, List.of(), List.of(), -1);
    return this;
  }

  /**
   * Migration options whose listener runs the foreground operations of the step, one per progress report, and
   * records which of them returned, so a cut inside one is judged against exactly the acknowledged ones.
   */
  MigrationOptions options(RunContext cx, List<SubOp> during, int cancelAfter, MigrationControl control) {
    int[] reports = {0};
    return MigrationOptions.defaults().checkpointEvery(checkpointEvery).control(control).listener(p -> {
      int k = reports[0]++;
      if (k < during.size()) {
        cx.subInFlight = true;
        try {
          during.get(k).action().run(cx);
        } catch (IOException e) {
          throw new ForegroundFailure(e);
        }
        cx.subInFlight = false;
        cx.subAcked++;
      }
      if (cancelAfter >= 0 && reports[0] >= cancelAfter) {
        control.cancel();
      }
    });
  }

  static String abbreviations(List<Module> ms) {
    List<String> out = new ArrayList<>();
    ms.forEach(m -> out.add(m.abbreviation()));
    return String.join(",", out);
  }

  // ------------------------------------------------------------------------------------------------ sub-ops

  static SubOp subWrite(String p, byte[] data) {
    return new SubOp("writeFile " + p, cx -> cx.disk.writeFile(p, data), m -> m.writeFile(p, data));
  }

  static SubOp subMkdir(String p) {
    return new SubOp("mkdir " + p, cx -> cx.disk.mkdir(p), m -> m.tree.mkdir(p));
  }

  static SubOp subAppend(String p, byte[] data) {
    return new SubOp("append " + p, cx -> cx.disk.append(p, data), m -> m.tree.append(p, data));
  }

  static SubOp subDelete(String p) {
    return new SubOp("delete " + p, cx -> cx.disk.delete(p), m -> m.delete(p));
  }

  static SubOp subTransit(String p, byte v) {
    return new SubOp("Transit of " + p + " = " + v,
        cx -> cx.disk.writeModuleField(p, Module.TRANSIT, new byte[] {v}), m -> m.setTransit(p, v));
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < steps.size(); i++) {
      sb.append(i).append(": ").append(steps.get(i).name()).append('\n');
    }
    return sb.toString();
  }
}
