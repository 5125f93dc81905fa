package dev.vde.crash;

import dev.vde.fs.VirtualDisk;
import dev.vde.testing.FsModel;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Consumer;

/**
 * The scripted workload the crash sweeps replay: every kind of operation the engine promises to make atomic and
 * durable, with file sizes at the block-payload boundaries (a data block holds {@code blockSize - 16} bytes), a
 * file fragmented past the 8 inline extents, a positional overwrite spanning three blocks, and a batch.
 *
 * <p>Step 0 creates the volume and the last step closes it; both are crash points like any other. For each step
 * the workload knows the expected tree after it ({@link #modelAfter}); the tree before step {@code s} is the tree
 * after step {@code s - 1}. Content is derived from fixed seeds so every run writes the same bytes.
 */
final class Workload {
  /** What a step does to the disk. */
  @FunctionalInterface
  interface DiskAction {
    void run(VirtualDisk disk) throws IOException;
  }

  /** One acknowledged-or-not unit: an API call (or one batch) and its effect on the model. */
  record Step(String name, Kind kind, DiskAction action, Consumer<FsModel> effect) {}

  enum Kind { CREATE, OPERATION, OVERWRITE, BATCH, CLOSE }

  /** Path of the file the positional overwrite targets. */
  static final String OVERWRITE_TARGET = "/docs/big";
  /** Path of the file that must end up with more than 8 extents. */
  static final String FRAGMENTED = "/frag/file";
  /** Path of the file written from a stream long enough to be staged (see {@link #build}). */
  static final String STREAMED = "/streamed";
  /** Rounds of interleaved appends; each one adds a block that cannot be contiguous with the file's previous. */
  static final int INTERLEAVED_ROUNDS = 9;

  final int blockSize;
  final int payload;
  private final List<Step> steps = new ArrayList<>();
  private final List<FsModel> after = new ArrayList<>();
  private int overwriteStep = -1;

  Workload(int blockSize) {
    this.blockSize = blockSize;
    this.payload = blockSize - 16;
    build();
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

  /** Expected tree once step {@code s} is acknowledged (a copy); step 0 (create) leaves an empty tree. */
  FsModel modelAfter(int s) {
    return after.get(s).copy();
  }

  int overwriteStep() {
    return overwriteStep;
  }

  /** Content of the overwrite target just before the overwrite. */
  byte[] overwriteOld() {
    return modelAfter(overwriteStep - 1).content(OVERWRITE_TARGET);
  }

  /** Content of the overwrite target just after it. */
  byte[] overwriteNew() {
    return modelAfter(overwriteStep).content(OVERWRITE_TARGET);
  }

  private void add(String name, Kind kind, DiskAction action, Consumer<FsModel> effect) {
    FsModel m = after.isEmpty() ? new FsModel() : after.get(after.size() - 1).copy();
    effect.accept(m);
    steps.add(new Step(name, kind, action, effect));
    after.add(m);
  }

  private void op(String name, DiskAction action, Consumer<FsModel> effect) {
    add(name, Kind.OPERATION, action, effect);
  }

  private void writeFile(String path, byte[] data) {
    op("writeFile " + path + " (" + data.length + " bytes)", d -> d.writeFile(path, data),
        m -> m.writeFile(path, data));
  }

  private void append(String path, byte[] data) {
    op("append " + path + " (" + data.length + " bytes)", d -> d.append(path, data), m -> m.append(path, data));
  }

  private void mkdir(String path) {
    op("mkdir " + path, d -> d.mkdir(path), m -> m.mkdir(path));
  }

  private void delete(String path) {
    op("delete " + path, d -> d.delete(path), m -> m.delete(path));
  }

  private void build() {
    int p = payload;
    long seed = 1000L * blockSize;
    add("create volume", Kind.CREATE, d -> { }, m -> { });

    mkdir("/docs");
    op("mkdirs /deep/x/y", d -> d.mkdirs("/deep/x/y"), m -> {
      m.mkdir("/deep");
      m.mkdir("/deep/x");
      m.mkdir("/deep/x/y");
    });
    writeFile("/empty", new byte[0]);
    writeFile("/one", SeededBytes.bytes(seed++, 1));
    writeFile("/docs/exact", SeededBytes.bytes(seed++, p));
    writeFile("/docs/over", SeededBytes.bytes(seed++, p + 1));
    writeFile(OVERWRITE_TARGET, SeededBytes.bytes(seed++, 3 * p + 100));
    writeFile("/deep/x/y/leaf", SeededBytes.bytes(seed++, 2 * p - 1));

    // Fragmentation, two ways, because which one works depends on the allocator: one-block holes left by
    // deleting every other small file, then appends interleaved with another file's appends so that no two
    // consecutive blocks of the file can be adjacent. The no-crash test asserts the result has > 8 extents.
    mkdir("/frag");
    for (int i = 0; i < 6; i++) {
      writeFile("/frag/h" + i, SeededBytes.bytes(seed++, p));
    }
    for (int i = 1; i < 6; i += 2) {
      delete("/frag/h" + i);
    }
    writeFile(FRAGMENTED, SeededBytes.bytes(seed++, 3 * p));
    for (int r = 0; r < INTERLEAVED_ROUNDS; r++) {
      append(FRAGMENTED, SeededBytes.bytes(seed++, p));
      append("/frag/h0", SeededBytes.bytes(seed++, p));
    }
    // An overwrite of a block whose extent lives in the indirect chain: the chain block holding it is rewritten
    // in place, through the WAL, in the same transaction as the inode.
    long inChain = (3L + INTERLEAVED_ROUNDS - 2) * p + 5;
    byte[] chainPatch = SeededBytes.bytes(seed++, 10);
    op("overwrite 10 bytes of " + FRAGMENTED + " at " + inChain + " (extent in the chain)",
        d -> d.write(FRAGMENTED, inChain, chainPatch, 0, chainPatch.length),
        m -> m.write(FRAGMENTED, inChain, chainPatch));

    // The overwrite covers the last 50 bytes of block 0, all of block 1 and the first 50 bytes of block 2, and
    // every new byte differs from the old one, so a crash that mixes old and new is visible at every offset.
    long pos = p - 50;
    byte[] oldBig = after.get(after.size() - 1).content(OVERWRITE_TARGET);
    byte[] patch = SeededBytes.differentFrom(oldBig, (int) pos, p + 100, seed++);
    add("overwrite " + OVERWRITE_TARGET + " [" + pos + ", " + (pos + patch.length) + ")", Kind.OVERWRITE,
        d -> d.write(OVERWRITE_TARGET, pos, patch, 0, patch.length), m -> m.write(OVERWRITE_TARGET, pos, patch));
    overwriteStep = steps.size() - 1;

    append("/docs/over", SeededBytes.bytes(seed++, p + 7));
    op("truncate " + OVERWRITE_TARGET + " to " + (p + 10), d -> d.truncate(OVERWRITE_TARGET, p + 10),
        m -> m.truncate(OVERWRITE_TARGET, p + 10));
    op("truncate /one to " + (2 * p + 5), d -> d.truncate("/one", 2L * p + 5), m -> m.truncate("/one", 2L * p + 5));
    mkdir("/docs/sub");
    op("rename /docs/exact -> /docs/sub/moved", d -> d.rename("/docs/exact", "/docs/sub/moved"),
        m -> m.rename("/docs/exact", "/docs/sub/moved"));
    op("rename /docs -> /archive", d -> d.rename("/docs", "/archive"), m -> m.rename("/docs", "/archive"));
    delete("/empty");
    mkdir("/scratch");
    delete("/scratch");

    // A stream longer than writeFile(InputStream)'s 1024-block buffer is staged in reserved blocks while it is read
    // and mapped by one transaction at the end; once as a new file, once replacing it. Only where two such files fit
    // the small test volume (512-byte blocks).
    long streamed = 1024L * p + p + 3;
    if (2 * streamed < TestVolumes.SIZE / 2) {
      byte[] s1 = SeededBytes.bytes(seed++, (int) streamed);
      byte[] s2 = SeededBytes.bytes(seed++, (int) streamed + 2 * p);
      op("writeFile(stream) " + STREAMED + " (" + s1.length + " bytes)",
          d -> d.writeFile(STREAMED, new ByteArrayInputStream(s1)), m -> m.writeFile(STREAMED, s1));
      op("writeFile(stream) replacing " + STREAMED + " (" + s2.length + " bytes)",
          d -> d.writeFile(STREAMED, new ByteArrayInputStream(s2)), m -> m.writeFile(STREAMED, s2));
    }

    byte[] a = SeededBytes.bytes(seed++, 0);
    byte[] b = SeededBytes.bytes(seed++, p + 1);
    byte[] c = SeededBytes.bytes(seed++, 2 * p + 3);
    add("batch: mkdir /batch, create /batch/a /batch/b /batch/c", Kind.BATCH, d -> d.batch(x -> {
      x.mkdir("/batch");
      x.writeFile("/batch/a", a);
      x.writeFile("/batch/b", b);
      x.writeFile("/batch/c", c);
    }), m -> {
      m.mkdir("/batch");
      m.writeFile("/batch/a", a);
      m.writeFile("/batch/b", b);
      m.writeFile("/batch/c", c);
    });
    append("/batch/a", SeededBytes.bytes(seed++, 3));

    add("close", Kind.CLOSE, VirtualDisk::close, m -> { });
  }
}
