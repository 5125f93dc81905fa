package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.VdeCorruptedException;
import dev.vde.check.Problem;
import dev.vde.check.VerifyReport;
import dev.vde.cli.Main;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.testing.FsModel;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real kills: the {@code vde} CLI runs in a child JVM ({@code java -cp <this test's class path>
 * dev.vde.cli.Main ...}) and is killed with SIGKILL ({@link Process#destroyForcibly}) at a random moment of a
 * long operation; the image is then reopened in this JVM and checked. Unlike the simulated power cuts, the host
 * file system keeps every write the child issued, so this tests the real file device, the file lock and the
 * shutdown paths a kill skips (no close, no shutdown hook).
 *
 * <ul>
 *   <li>{@code put} of a 96 MiB host file: the file is absent or complete, every earlier file intact.
 *   <li>{@code module add IMAGE tags --option migrate --checkpoint-every 50 --max-iops 2000} on a volume with
 *       3,000 files:
 *       {@code migrate status} describes a killed migration and {@code migrate resume} completes it; files intact.
 *   <li>{@code copy SRC DEST --max-iops 20000} of 3,000 files and a 32 MiB file: the source byte-identical; the
 *       destination absent, refused as incomplete, or
 *       complete, clean and equal to the source.
 * </ul>
 *
 * <p>The child reports progress as JSON lines on stderr ({@code --progress json}); the kill comes a random delay
 * after the first one, drawn from a seeded Random ({@code -Dvde.reliability.seed}) within the duration an
 * uninterrupted run of the same command took (measured first), so the kills spread over the whole operation.
 * {@code -Dvde.kills=N} sets the kills per operation (default 5; the {@code stress}-tagged variant defaults to 25).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CliKillTest {
  static final long SEED = Long.getLong("vde.reliability.seed", 0x5EED_2025L);
  static final int FILES = 3000;
  static final int HOST_FILE_BYTES = 96 << 20;
  /**
   * Paces the migration (about 600 block I/Os for 3,000 inodes) and the copy (about 8,000 blocks) to a few hundred
   * milliseconds, so that random kill moments fall inside them rather than after an operation that is over in a
   * few tens of milliseconds; the throttle only adds waits between batches, the protocol is the same.
   */
  static final String MIGRATION_IOPS = "2000";
  static final String COPY_IOPS = "20000";

  @TempDir
  static Path dir;
  private Path host;
  private Path populated;
  private FsModel populatedModel;
  private final TreeMap<String, Integer> outcomes = new TreeMap<>();

  @BeforeAll
  void buildImages() throws IOException {
    host = dir.resolve("host.bin");
    Files.write(host, SeededBytes.bytes(SEED, HOST_FILE_BYTES));
    populated = dir.resolve("populated.vde");
    populatedModel = new FsModel();
    try (VirtualDisk d = VirtualDisk.create(populated, CreateOptions.ofSize(64L << 20).inodeCount(8192))) {
      for (int k = 0; k < FILES / 500; k++) {
        String sub = "/d" + k;
        d.mkdir(sub);
        populatedModel.mkdir(sub);
        int kk = k;
        d.batch(x -> {
          for (int i = 0; i < 500; i++) {
            byte[] b = SeededBytes.bytes(kk * 1000L + i, (i * 37) % 3000);
            x.writeFile(sub + "/f" + i, b);
            populatedModel.writeFile(sub + "/f" + i, b);
          }
        });
      }
    }
  }

  // ------------------------------------------------------------------------------------------------ tests

  @Test
  void killedPut_leavesTheFileAbsentOrComplete_andEveryEarlierFileIntact() throws Exception {
    killPut(Integer.getInteger("vde.kills", 5));
  }

  @Test
  void killedMigration_isShownByStatus_andCompletedByResume_withEveryFileIntact() throws Exception {
    killMigration(Integer.getInteger("vde.kills", 5));
  }

  @Test
  void killedCopy_leavesTheSourceByteIdentical_andTheDestinationRefusedOrComplete() throws Exception {
    killCopy(Integer.getInteger("vde.kills", 5));
  }

  @Tag("stress")
  @Test
  void manyKills_ofPutMigrationAndCopy() throws Exception {
    int n = Integer.getInteger("vde.kills", 25);
    killPut(n);
    killMigration(n);
    killCopy(n);
  }

  // ------------------------------------------------------------------------------------------------ put

  private void killPut(int kills) throws Exception {
    Path image = dir.resolve("put.vde");
    Files.deleteIfExists(image);
    FsModel model = new FsModel();
    try (VirtualDisk d = VirtualDisk.create(image, CreateOptions.ofSize(1L << 30))) {
      d.mkdir("/big");
      model.mkdir("/big");
    }
    byte[] content = Files.readAllBytes(host);
    long window = calibrate("put", image, model, content);
    Random rnd = new Random(SEED);
    System.out.printf("[reliability] kill put: seed %d, window %d ms%n", SEED, window);
    int absent = 0;
    int complete = 0;
    int finishedFirst = 0;
    for (int k = 0; k < kills; k++) {
      String target = "/big/f" + k;
      long delay = (long) (rnd.nextDouble() * window * 1.2);
      Child c = Child.start(dir, "put", image.toString(), host.toString(), target, "--progress", "json");
      String ctx = "put kill #" + k + " after " + delay + " ms (seed " + SEED + ")";
      if (!c.killAfterFirstProgress(delay)) {
        finishedFirst++;
      }
      try (VirtualDisk d = VirtualDisk.open(image)) {
        TestVolumes.assertClean(d.verify(Progress.NONE), ctx);
        FsModel got = FsModel.readFrom(d);
        if (got.isFile(target)) {
          assertThat(Arrays.equals(got.content(target), content)).as(ctx + ": a killed put left " + target
              + " with " + got.content(target).length + " bytes that are not the host file").isTrue();
          model.writeFile(target, content);
          complete++;
        } else {
          absent++;
        }
        assertThat(got.diff(model)).as(ctx).isEmpty();
      }
    }
    record("put", kills, "file absent " + absent + ", complete " + complete + "; " + finishedFirst
        + " had finished before the kill");
  }

  /** Runs the put once without a kill; returns how long it ran after its first progress line, in ms. */
  private long calibrate(String what, Path image, FsModel model, byte[] content) throws Exception {
    Child c = Child.start(dir, "put", image.toString(), host.toString(), "/big/calibration", "--progress", "json");
    long ms = c.runToEnd(what);
    model.writeFile("/big/calibration", content);
    return Math.max(ms, 20);
  }

  // ------------------------------------------------------------------------------------------------ migration

  private void killMigration(int kills) throws Exception {
    Path image = dir.resolve("migrate.vde");
    Files.copy(populated, image, StandardCopyOption.REPLACE_EXISTING);
    Child cal = Child.start(dir, "module", "add", image.toString(), "tags", "--option", "migrate",
        "--checkpoint-every", "50", "--max-iops", MIGRATION_IOPS, "--progress", "json");
    long window = Math.max(cal.runToEnd("module add (calibration)"), 20);
    Random rnd = new Random(SEED + 1);
    System.out.printf("[reliability] kill migration: seed %d, window %d ms%n", SEED + 1, window);
    int before = 0;
    int pending = 0;
    int done = 0;
    int finishedFirst = 0;
    int cutCheckpoints = 0;
    for (int k = 0; k < kills; k++) {
      Files.copy(populated, image, StandardCopyOption.REPLACE_EXISTING);
      long delay = (long) (rnd.nextDouble() * window * 1.2);
      String ctx = "migration kill #" + k + " after " + delay + " ms (seed " + (SEED + 1) + ")";
      Child c = Child.start(dir, "module", "add", image.toString(), "tags", "--option", "migrate",
          "--checkpoint-every", "50", "--max-iops", MIGRATION_IOPS, "--progress", "json");
      if (!c.killAfterFirstProgress(delay)) {
        finishedFirst++;
      }
      boolean wasPending;
      boolean active;
      try (VirtualDisk d = VirtualDisk.open(image, OpenOptions.readOnlyOptions())) {
        if (assertCleanButForACutCheckpoint(d.verify(Progress.NONE), ctx)) {
          cutCheckpoints++;
        }
        assertThat(FsModel.readFrom(d).diff(populatedModel)).as(ctx).isEmpty();
        wasPending = InodeMigration.isPending(d);
        active = (d.volume().superblock().moduleManifest() & Module.TAGS.bit()) != 0;
      }
      String status = cli(ctx, 0, "migrate", "status", image.toString());
      if (wasPending) {
        pending++;
        assertThat(status).as(ctx + ": status of a killed migration").contains("pending").contains("Tags");
        cli(ctx, 0, "migrate", "resume", image.toString(), "--checkpoint-every", "50");
      } else if (!active) {
        assertThat(status).as(ctx).contains("none");
        before++;
        // Killed before the migration was recorded: adding the module again must work.
        cli(ctx, 0, "module", "add", image.toString(), "tags", "--option", "migrate", "--checkpoint-every", "50");
      } else {
        assertThat(status).as(ctx).contains("none");
        done++;
      }
      // Writable, as the next command a user runs: it rewrites a superblock copy a kill left in the previous
      // epoch, and nothing may be left to report after that.
      try (VirtualDisk d = VirtualDisk.open(image)) {
        TestVolumes.assertClean(d.verify(Progress.NONE), ctx + ", after resume");
        assertThat(InodeMigration.isPending(d)).as(ctx).isFalse();
        assertThat(d.volume().superblock().moduleManifest() & Module.TAGS.bit()).as(ctx + ": Tags active")
            .isNotZero();
        assertThat(FsModel.readFrom(d).diff(populatedModel)).as(ctx + ", after resume").isEmpty();
      }
    }
    record("migration", kills, "before it was recorded " + before + ", pending (resumed) " + pending
        + ", already complete " + done + "; " + finishedFirst + " had finished before the kill; " + cutCheckpoints
        + " cut a checkpoint between its two superblock writes");
  }

  /**
   * Asserts {@code r} clean but for the one finding a kill may leave: a checkpoint cut between its two superblock
   * writes (the process dies, the writes it made stand), whose older copy then names the previous WAL epoch. The
   * read-only check reports it, since the volume is one lost block from losing the transactions since, and the
   * next writable open rewrites it (FORMAT.md section 5); the caller checks after such an open that nothing is
   * left. Returns whether it was there.
   */
  private static boolean assertCleanButForACutCheckpoint(VerifyReport r, String ctx) {
    List<Problem> rest = new ArrayList<>();
    boolean cut = false;
    for (Problem p : r.problems()) {
      if (p.structure().equals("superblock") && (p.blockNo() == 0 || p.blockNo() == 1)
          && p.message().contains("is from an earlier checkpoint") && !cut) {
        cut = true;
      } else {
        rest.add(p);
      }
    }
    TestVolumes.assertClean(new VerifyReport(rest, r.blocksChecked(), r.inodesChecked(), r.filesChecked()), ctx);
    return cut;
  }

  // ------------------------------------------------------------------------------------------------ copy

  private void killCopy(int kills) throws Exception {
    Path src = dir.resolve("copy-src.vde");
    Files.copy(populated, src, StandardCopyOption.REPLACE_EXISTING);
    FsModel model = populatedModel.copy();
    byte[] big = Arrays.copyOf(Files.readAllBytes(host), 32 << 20);
    try (VirtualDisk d = VirtualDisk.open(src)) {
      d.writeFile("/big", big);
      model.writeFile("/big", big);
    }
    String digest = sha256(src);
    Path dest = dir.resolve("copy-dest.vde");
    Files.deleteIfExists(dest);
    long window = Math.max(copyChild(src, dest).runToEnd("copy (calibration)"), 20);
    Random rnd = new Random(SEED + 2);
    System.out.printf("[reliability] kill copy: seed %d, window %d ms%n", SEED + 2, window);
    int absent = 0;
    int refused = 0;
    int complete = 0;
    int finishedFirst = 0;
    for (int k = 0; k < kills; k++) {
      Files.deleteIfExists(dest);
      long delay = (long) (rnd.nextDouble() * window * 1.2);
      String ctx = "copy kill #" + k + " after " + delay + " ms (seed " + (SEED + 2) + ")";
      Child c = copyChild(src, dest);
      if (!c.killAfterFirstProgress(delay)) {
        finishedFirst++;
      }
      assertThat(sha256(src)).as(ctx + ": the source must be byte-identical").isEqualTo(digest);
      if (!Files.exists(dest)) {
        absent++;
        continue;
      }
      VirtualDisk copy;
      try {
        copy = VirtualDisk.open(dest, OpenOptions.readOnlyOptions());
      } catch (VdeCorruptedException e) {
        refused++;
        continue;
      }
      try (copy) {
        TestVolumes.assertClean(copy.verify(Progress.NONE), ctx + ": a destination that opens must be complete");
        assertThat(FsModel.readFrom(copy).diff(model)).as(ctx).isEmpty();
        complete++;
      }
    }
    record("copy", kills, "destination absent " + absent + ", refused " + refused + ", complete " + complete
        + "; " + finishedFirst + " had finished before the kill");
  }

  private static Child copyChild(Path src, Path dest) throws IOException {
    return Child.start(dir, "copy", src.toString(), dest.toString(), "--max-iops", COPY_IOPS, "--progress", "json");
  }

  // ------------------------------------------------------------------------------------------------ helpers

  private void record(String op, int kills, String detail) {
    outcomes.merge(op, kills, Integer::sum);
    System.out.printf("[reliability] kills survived: %s %d (%s)%n", op, kills, detail);
  }

  /** Runs a CLI command in this JVM; returns its standard output, failing unless it exits with {@code code}. */
  private static String cli(String ctx, int code, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    String o = out.toString(StandardCharsets.UTF_8);
    assertThat(rc).as(ctx + ": vde " + String.join(" ", args) + "\nstdout: " + o + "\nstderr: "
        + err.toString(StandardCharsets.UTF_8)).isEqualTo(code);
    return o;
  }

  private static String sha256(Path p) throws IOException {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(md.digest(Files.readAllBytes(p)));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  /** The CLI in a child JVM, its stderr watched for the first progress line. */
  static final class Child {
    final Process process;
    final List<String> stderr = new ArrayList<>();
    final CountDownLatch firstProgress = new CountDownLatch(1);
    final String command;

    private Child(Process p, String command) {
      this.process = p;
      this.command = command;
      Thread t = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(),
            StandardCharsets.UTF_8))) {
          String line;
          while ((line = r.readLine()) != null) {
            synchronized (stderr) {
              stderr.add(line);
            }
            if (line.startsWith("{")) {
              firstProgress.countDown();
            }
          }
        } catch (IOException ignored) {
          // The stream closes when the child dies; what was read is kept.
        }
        firstProgress.countDown();
      }, "child-stderr");
      t.setDaemon(true);
      t.start();
    }

    static Child start(Path workDir, String... args) throws IOException {
      List<String> cmd = new ArrayList<>();
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      cmd.add("-cp");
      cmd.add(System.getProperty("java.class.path"));
      cmd.add("dev.vde.cli.Main");
      cmd.addAll(List.of(args));
      ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile())
          .redirectOutput(ProcessBuilder.Redirect.DISCARD);
      return new Child(pb.start(), String.join(" ", args));
    }

    /** Waits for the end; fails unless it exits 0. Returns the ms from the first progress line to the exit. */
    long runToEnd(String what) throws InterruptedException {
      assertThat(firstProgress.await(120, TimeUnit.SECONDS)).as(what + " reported progress").isTrue();
      long t0 = System.nanoTime();
      assertThat(process.waitFor(300, TimeUnit.SECONDS)).as(what + " finished").isTrue();
      long ms = (System.nanoTime() - t0) / 1_000_000;
      synchronized (stderr) {
        assertThat(process.exitValue()).as(what + ": vde " + command + " failed: " + stderr).isZero();
      }
      return ms;
    }

    /**
     * SIGKILL {@code delayMs} after the first progress line and waits for the child to die. Returns whether it was
     * still running (false: it had already finished, so the kill changed nothing).
     */
    boolean killAfterFirstProgress(long delayMs) throws InterruptedException {
      firstProgress.await(120, TimeUnit.SECONDS);
      Thread.sleep(delayMs);
      boolean running = process.isAlive();
      process.destroyForcibly();
      assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("the killed child exits").isTrue();
      return running;
    }
  }
}
