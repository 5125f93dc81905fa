package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.VdeCorruptedException;
import dev.vde.VdeException;
import dev.vde.testing.FsModel;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;

/**
 * Random sequences of file operations against a model {@code Map<path, bytes>} plus a set of directories: after
 * the sequence the volume is closed, reopened, compared with the model as a whole tree, and verified.
 *
 * <p>Operations pick their targets among what exists at the time they run ({@code pick} indexes modulo the
 * current candidates), so every generated operation is valid and the test needs no opinion on error semantics;
 * an operation with no candidate is skipped. File sizes come from classes that include 0, 1, the payload size
 * (blockSize-16), one past it (blockSize-15) and several blocks, and one operation rewrites alternate blocks of
 * a file copy-on-write so that it is fragmented past its 8 inline extents (into indirect XTNT blocks). A few
 * generated requests are invalid on purpose (missing file, existing name, non-empty directory, a directory into
 * itself, a file used as a directory): each must be refused with a vde exception and leave the tree unchanged.
 */
class VirtualDiskModelPropertyTest {
  private static Path tempDir;

  @BeforeContainer
  static void makeTempDir() throws IOException {
    tempDir = Files.createTempDirectory("vde-props");
  }

  @AfterContainer
  static void removeTempDir() throws IOException {
    if (tempDir != null) {
      try (var files = Files.list(tempDir)) {
        for (Path p : files.toList()) {
          Files.deleteIfExists(p);
        }
      }
      Files.deleteIfExists(tempDir);
    }
  }

  // ------------------------------------------------------------------------------------------------ sizes & ops

  /** Sizes that matter for the block layout; resolved against the block size when an operation runs. */
  enum SizeClass {
    ZERO, ONE, SMALL, PAYLOAD, PAYLOAD_PLUS_ONE, MULTI_BLOCK;

    int bytes(int blockSize, long seed) {
      int payload = blockSize - 16;
      return switch (this) {
        case ZERO -> 0;
        case ONE -> 1;
        case SMALL -> 2 + Math.floorMod(seed, 200);
        case PAYLOAD -> payload;
        case PAYLOAD_PLUS_ONE -> payload + 1;
        case MULTI_BLOCK -> payload * (2 + Math.floorMod(seed, 3)) + Math.floorMod(seed >> 8, 97);
      };
    }
  }

  private static final String[] NAMES = {"a", "b", "c", "d", "e"};
  private static final int INVALID_KINDS = 7;

  /** One generated operation; {@code pick}s select among existing targets when it runs. */
  sealed interface Op {}

  record CreateFile(int dir, int name, SizeClass size, long seed) implements Op {}

  record WriteAt(int file, int permille, SizeClass size, long seed) implements Op {}

  record Append(int file, SizeClass size, long seed) implements Op {}

  record Truncate(int file, SizeClass size, long seed) implements Op {}

  record Delete(int target) implements Op {}

  record Rename(int source, int dir, int name) implements Op {}

  record Mkdir(int dir, int name) implements Op {}

  /** A request the engine must refuse without changing anything; {@code kind} picks which. */
  record Invalid(int kind, int pick, int name) implements Op {}

  /**
   * Grows {@code file} to at least {@code 2 * rounds + 1} blocks, then overwrites a few bytes inside each of
   * {@code rounds} odd-numbered blocks, one positional write each.
   */
  record Fragment(int file, int rounds, long seed) implements Op {}

  @Provide
  Arbitrary<Integer> blockSizes() {
    return Arbitraries.of(TestVolumes.BS_512, TestVolumes.BS_4K);
  }

  private static Arbitrary<Integer> pick() {
    return Arbitraries.integers().between(0, 1000);
  }

  private static Arbitrary<SizeClass> sizes() {
    return Arbitraries.of(SizeClass.class);
  }

  private static Arbitrary<Long> seeds() {
    return Arbitraries.longs();
  }

  private static Arbitrary<Op> fragment() {
    return Combinators.combine(pick(), Arbitraries.integers().between(9, 12), seeds()).as(Fragment::new);
  }

  @SuppressWarnings("unchecked")
  private static Arbitrary<Op> ops(int fragmentWeight) {
    Arbitrary<Op> create = Combinators.combine(pick(), pick(), sizes(), seeds()).as(CreateFile::new);
    // Positions up to 1.5 x the size: a third of the writes start past the end and leave a gap of zeros.
    Arbitrary<Op> write = Combinators.combine(pick(), Arbitraries.integers().between(0, 1500), sizes(), seeds())
        .as(WriteAt::new);
    Arbitrary<Op> append = Combinators.combine(pick(), sizes(), seeds()).as(Append::new);
    Arbitrary<Op> truncate = Combinators.combine(pick(), sizes(), seeds()).as(Truncate::new);
    Arbitrary<Op> delete = pick().map(Delete::new);
    Arbitrary<Op> rename = Combinators.combine(pick(), pick(), pick()).as(Rename::new);
    Arbitrary<Op> mkdir = Combinators.combine(pick(), pick()).as(Mkdir::new);
    Arbitrary<Op> invalid = Combinators.combine(Arbitraries.integers().between(0, INVALID_KINDS - 1), pick(), pick())
        .as(Invalid::new);
    return Arbitraries.frequencyOf(Tuple.of(6, create), Tuple.of(4, write), Tuple.of(3, append),
        Tuple.of(3, truncate), Tuple.of(2, delete), Tuple.of(2, rename), Tuple.of(3, mkdir),
        Tuple.of(fragmentWeight, fragment()), Tuple.of(1, invalid));
  }

  @Provide
  Arbitrary<List<Op>> operations() {
    return ops(1).list().ofMinSize(1).ofMaxSize(40);
  }

  /** Sequences that always fragment some file: a random prefix, a fragmenting op, and a random rest. */
  @Provide
  Arbitrary<List<Op>> fragmentingOperations() {
    Arbitrary<List<Op>> prefix = ops(0).list().ofMinSize(1).ofMaxSize(15);
    Arbitrary<List<Op>> rest = ops(1).list().ofMaxSize(15);
    return Combinators.combine(prefix, fragment(), rest).as((a, f, b) -> {
      List<Op> all = new ArrayList<>(a);
      all.add(f);
      all.addAll(b);
      return all;
    });
  }

  // ------------------------------------------------------------------------------------------------ properties

  @Property(tries = 100)
  void randomOperations_matchTheModel_afterCloseAndReopen_onPowerLossDevice(
      @ForAll("operations") List<Op> ops, @ForAll("blockSizes") int blockSize) throws IOException {
    PowerLossDevice dev = new PowerLossDevice("property volume");
    VirtualDisk disk = VirtualDisk.create(dev, TestVolumes.options(blockSize));
    Runner r = new Runner(disk, blockSize);
    r.runAll(ops);
    disk.close();
    // Dropping unsynced writes proves every acknowledged operation was durable, not just readable.
    try (VirtualDisk reopened = TestVolumes.open(dev.powerLoss(KeepPolicy.NONE))) {
      r.assertDiskMatchesModel(reopened, "after close, power loss and reopen");
    }
  }

  @Property(tries = 30)
  void randomOperations_matchTheModel_afterCloseAndReopen_onHostFile(
      @ForAll("operations") List<Op> ops, @ForAll("blockSizes") int blockSize) throws IOException {
    Path file = tempDir.resolve("p-" + System.nanoTime() + ".vde");
    try {
      VirtualDisk disk = VirtualDisk.create(file, TestVolumes.options(blockSize));
      Runner r = new Runner(disk, blockSize);
      r.runAll(ops);
      disk.close();
      try (VirtualDisk reopened = VirtualDisk.open(file)) {
        r.assertDiskMatchesModel(reopened, "after close and reopen of " + file);
      }
    } finally {
      Files.deleteIfExists(file);
    }
  }

  @Property(tries = 50)
  void fragmentingSequences_matchTheModel_andSpillPastEightExtents(
      @ForAll("fragmentingOperations") List<Op> ops, @ForAll("blockSizes") int blockSize) throws IOException {
    PowerLossDevice dev = new PowerLossDevice("fragmenting volume");
    VirtualDisk disk = VirtualDisk.create(dev, TestVolumes.options(blockSize));
    Runner r = new Runner(disk, blockSize);
    r.runAll(ops);
    assertThat(r.fragmentedFiles).as("a Fragment op ran, so some file had > 8 extents; log:\n%s", r.log())
        .isPositive();
    disk.close();
    try (VirtualDisk reopened = TestVolumes.open(dev.powerLoss(KeepPolicy.NONE))) {
      r.assertDiskMatchesModel(reopened, "after close, power loss and reopen");
    }
  }

  // ------------------------------------------------------------------------------------------------ runner

  /** Applies operations to the disk and the model side by side. */
  static final class Runner {
    final VirtualDisk disk;
    final int blockSize;
    final FsModel model = new FsModel();
    final List<String> log = new ArrayList<>();
    int fragmentedFiles;

    Runner(VirtualDisk disk, int blockSize) {
      this.disk = disk;
      this.blockSize = blockSize;
    }

    String log() {
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < log.size(); i++) {
        sb.append("  ").append(i).append(": ").append(log.get(i)).append('\n');
      }
      return sb.toString();
    }

    void runAll(List<Op> ops) throws IOException {
      for (Op op : ops) {
        try {
          run(op);
        } catch (IOException | RuntimeException e) {
          throw new AssertionError("operation " + log.size() + " failed: " + op + "\nresolved so far:\n" + log(), e);
        }
      }
      Statistics.label("max extents > 8").collect(fragmentedFiles > 0);
    }

    private List<String> dirsIncludingRoot() {
      List<String> ds = new ArrayList<>();
      ds.add("/");
      ds.addAll(model.dirs());
      return ds;
    }

    private List<String> filesList() {
      return new ArrayList<>(model.files().keySet());
    }

    private static <T> T choose(List<T> xs, int pick) {
      return xs.get(pick % xs.size());
    }

    private String child(String dir, int name) {
      return FsModel.childPrefix(dir) + NAMES[name % NAMES.length];
    }

    private void run(Op op) throws IOException {
      if (op instanceof CreateFile c) {
        String path = child(choose(dirsIncludingRoot(), c.dir()), c.name());
        if (model.isDir(path)) {
          return;
        }
        byte[] data = SeededBytes.bytes(c.seed(), c.size().bytes(blockSize, c.seed()));
        if ((c.seed() & 1) == 0) {
          log.add("writeFile " + path + " " + data.length + " bytes");
          disk.writeFile(path, data);
        } else {
          // The streaming variant takes another code path (it cannot know the size up front).
          log.add("writeFile(InputStream) " + path + " " + data.length + " bytes");
          long n = disk.writeFile(path, new ByteArrayInputStream(data));
          assertThat(n).as("bytes reported by writeFile(InputStream)").isEqualTo(data.length);
        }
        model.writeFile(path, data);
        checkFile(path);
      } else if (op instanceof WriteAt w) {
        List<String> files = filesList();
        if (files.isEmpty()) {
          return;
        }
        String path = choose(files, w.file());
        int size = model.content(path).length;
        long pos = (long) size * w.permille() / 1000;
        byte[] data = SeededBytes.bytes(w.seed(), w.size().bytes(blockSize, w.seed()));
        log.add("write " + path + " at " + pos + " " + data.length + " bytes (size " + size + ")");
        disk.write(path, pos, data, 0, data.length);
        model.write(path, pos, data);
        checkFile(path);
      } else if (op instanceof Append a) {
        List<String> files = filesList();
        if (files.isEmpty()) {
          return;
        }
        String path = choose(files, a.file());
        byte[] data = SeededBytes.bytes(a.seed(), a.size().bytes(blockSize, a.seed()));
        log.add("append " + path + " " + data.length + " bytes");
        disk.append(path, data);
        model.append(path, data);
        checkFile(path);
      } else if (op instanceof Truncate t) {
        List<String> files = filesList();
        if (files.isEmpty()) {
          return;
        }
        String path = choose(files, t.file());
        int size = t.size().bytes(blockSize, t.seed());
        log.add("truncate " + path + " from " + model.content(path).length + " to " + size);
        disk.truncate(path, size);
        model.truncate(path, size);
        checkFile(path);
      } else if (op instanceof Delete d) {
        List<String> targets = filesList();
        for (String dir : model.dirs()) {
          if (model.isEmptyDir(dir)) {
            targets.add(dir);
          }
        }
        if (targets.isEmpty()) {
          return;
        }
        String path = choose(targets, d.target());
        log.add("delete " + path);
        disk.delete(path);
        model.delete(path);
        assertThat(disk.exists(path)).as("%s exists after delete", path).isFalse();
      } else if (op instanceof Rename rn) {
        List<String> sources = filesList();
        sources.addAll(model.dirs());
        if (sources.isEmpty()) {
          return;
        }
        String from = choose(sources, rn.source());
        String to = child(choose(dirsIncludingRoot(), rn.dir()), rn.name());
        if (model.exists(to) || to.startsWith(FsModel.childPrefix(from)) || to.equals(from)) {
          return;
        }
        log.add("rename " + from + " -> " + to);
        disk.rename(from, to);
        model.rename(from, to);
        assertThat(disk.exists(from)).as("%s exists after renaming it", from).isFalse();
        if (model.isFile(to)) {
          checkFile(to);
        }
      } else if (op instanceof Mkdir m) {
        String path = child(choose(dirsIncludingRoot(), m.dir()), m.name());
        if (model.exists(path)) {
          return;
        }
        log.add("mkdir " + path);
        disk.mkdir(path);
        model.mkdir(path);
        assertThat(disk.stat(path).type()).isEqualTo(FileType.DIRECTORY);
      } else if (op instanceof Fragment f) {
        List<String> files = filesList();
        if (files.isEmpty()) {
          // "frag" is not in NAMES, so no generated directory can be in its way.
          log.add("writeFile /frag 0 bytes (for fragmenting)");
          disk.writeFile("/frag", new byte[0]);
          model.writeFile("/frag", new byte[0]);
          files = List.of("/frag");
        }
        String path = choose(files, f.file());
        int payload = blockSize - 16;
        long need = (2L * f.rounds() + 1) * payload;
        int size = model.content(path).length;
        if (size < need) {
          byte[] tail = SeededBytes.bytes(f.seed(), Math.toIntExact(need - size));
          disk.append(path, tail);
          model.append(path, tail);
        }
        log.add("fragment " + path + ": grow to >= " + need + " bytes, rewrite " + f.rounds() + " odd blocks");
        // Overwriting every other block copy-on-write moves each rewritten block away from its neighbours, so
        // logical neighbours alternate between the old and the new place. On a file fragmented this way before,
        // the allocator may instead put a block back where its neighbours are (it aims next to the previous
        // logical block, and the slot an earlier round freed may be reusable by now), and the file heals: then it
        // is the shrinking list that goes through the chain. Either way the list passes eight extents here.
        int most = disk.stat(path).extentCount();
        for (int k = 0; k < f.rounds(); k++) {
          int inBlock = Math.floorMod(f.seed() + k, payload);
          long pos = (2L * k + 1) * payload + inBlock;
          byte[] patch = SeededBytes.bytes(f.seed() + k + 1, Math.min(16, payload - inBlock));
          disk.write(path, pos, patch, 0, patch.length);
          model.write(path, pos, patch);
          most = Math.max(most, disk.stat(path).extentCount());
        }
        checkFile(path);
        assertThat(most).as("%s: most extents while rewriting %d alternate blocks; log:\n%s", path, f.rounds(),
            log()).isGreaterThan(8);
        fragmentedFiles++;
      } else if (op instanceof Invalid inv) {
        runInvalid(inv);
      } else {
        throw new IllegalStateException("unknown op " + op);
      }
    }

    /**
     * Issues a request the model says is invalid: it must fail with a vde exception that is not a corruption
     * report, and change nothing (the final comparison and verify catch a partial change or a leaked block).
     */
    private void runInvalid(Invalid inv) throws IOException {
      List<String> files = filesList();
      List<String> nonEmptyDirs = new ArrayList<>();
      for (String d : model.dirs()) {
        if (!model.isEmptyDir(d)) {
          nonEmptyDirs.add(d);
        }
      }
      String missing = child(choose(dirsIncludingRoot(), inv.pick()), inv.name()) + "-missing";
      String what;
      DiskCall call;
      switch (inv.kind()) {
        case 0 -> {
          what = "readFile of missing " + missing;
          call = () -> disk.readFile(missing);
        }
        case 1 -> {
          what = "append to missing " + missing;
          call = () -> disk.append(missing, new byte[] {1});
        }
        case 2 -> {
          if (model.dirs().isEmpty()) {
            return;
          }
          String d = choose(new ArrayList<>(model.dirs()), inv.pick());
          what = "mkdir of existing directory " + d;
          call = () -> disk.mkdir(d);
        }
        case 3 -> {
          if (nonEmptyDirs.isEmpty()) {
            return;
          }
          String d = choose(nonEmptyDirs, inv.pick());
          what = "delete of non-empty directory " + d;
          call = () -> disk.delete(d);
        }
        case 4 -> {
          if (files.isEmpty()) {
            return;
          }
          String f = choose(files, inv.pick());
          String under = f + "/" + NAMES[inv.name() % NAMES.length];
          what = "writeFile below a file: " + under;
          call = () -> disk.writeFile(under, new byte[] {1, 2, 3});
        }
        case 5 -> {
          if (model.dirs().isEmpty()) {
            return;
          }
          String d = choose(new ArrayList<>(model.dirs()), inv.pick());
          String into = d + "/" + NAMES[inv.name() % NAMES.length] + "-inside";
          what = "rename of " + d + " into itself (" + into + ")";
          call = () -> disk.rename(d, into);
        }
        default -> {
          if (model.dirs().isEmpty()) {
            return;
          }
          String d = choose(new ArrayList<>(model.dirs()), inv.pick());
          what = "writeFile over directory " + d;
          call = () -> disk.writeFile(d, new byte[] {4});
        }
      }
      log.add("INVALID " + what);
      Throwable thrown = null;
      try {
        call.run();
      } catch (Throwable t) {
        thrown = t;
      }
      if (thrown == null) {
        throw new AssertionError(what + " succeeded but must be refused; log:\n" + log());
      }
      if (!(thrown instanceof VdeException) || thrown instanceof VdeCorruptedException) {
        throw new AssertionError(what + " must fail with a non-corruption VdeException, got " + thrown
            + "; log:\n" + log(), thrown);
      }
      assertThat(thrown.getMessage()).as("message of the refusal of %s", what).isNotBlank();
    }

    /** One disk call for {@link #runInvalid}. */
    @FunctionalInterface
    private interface DiskCall {
      void run() throws IOException;
    }

    /** Reads the file straight back, so a divergence is reported at the operation that caused it. */
    private void checkFile(String path) throws IOException {
      byte[] want = model.content(path);
      byte[] got = disk.readFile(path);
      if (!Arrays.equals(want, got)) {
        throw new AssertionError("after " + log.get(log.size() - 1) + ": " + path + " "
            + FsModel.describeDifference(want, got) + "\nlog:\n" + log());
      }
      assertThat(disk.stat(path).size()).as("stat size of %s", path).isEqualTo(want.length);
      // Positional reads in block-straddling chunks must agree with the whole-file read.
      int chunk = blockSize - 7;
      byte[] buf = new byte[chunk];
      for (long pos = 0; pos < want.length; pos += chunk) {
        int n = disk.read(path, pos, buf, 0, chunk);
        int expect = (int) Math.min(chunk, want.length - pos);
        if (n != expect || !Arrays.equals(buf, 0, n, want, (int) pos, (int) pos + n)) {
          throw new AssertionError("read(" + path + ", " + pos + ", " + chunk + ") returned " + n + " bytes, expected "
              + expect + " matching bytes; log:\n" + log());
        }
      }
      assertThat(disk.read(path, want.length, buf, 0, 1)).as("read at the end of %s", path).isEqualTo(-1);
      ByteArrayOutputStream streamed = new ByteArrayOutputStream();
      assertThat(disk.readFile(path, streamed)).isEqualTo(want.length);
      assertThat(streamed.toByteArray()).as("readFile(OutputStream) of %s", path).isEqualTo(want);
    }

    void assertDiskMatchesModel(VirtualDisk reopened, String when) throws IOException {
      List<String> diff = FsModel.readFrom(reopened).diff(model);
      if (!diff.isEmpty()) {
        throw new AssertionError(when + ", the tree differs from the model: " + diff + "\nlog:\n" + log());
      }
      TestVolumes.assertClean(reopened.verify(Progress.NONE), when + "; log:\n" + log());
    }
  }
}
