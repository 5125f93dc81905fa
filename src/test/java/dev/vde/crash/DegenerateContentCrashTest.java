package dev.vde.crash;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.PowerLossDevice.PowerCutException;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Crash sweeps over a workload whose files are all zeros: the same payload written again and again, under new
 * names, into blocks and WAL places that held the same bytes before. Checksums cover payloads only, so here an
 * older block can pass for a newer one that was lost; the other sweeps write random, distinct content and cannot
 * meet that case. Beside the usual keep policies, every crash point is tried with everything of the unsynced
 * writes kept but one block (the last {@link #LOSE_ONE_PIECES} of them in turn), which is what lets an older
 * block show through. After each, the recovered volume must hold the files after the last acknowledged step or
 * after the one in flight, each readable (its blocks owned by its inode) and all zeros, and verify clean.
 */
class DegenerateContentCrashTest {
  /** Lose-one cases per crash point: the newest pieces, those of the transaction being written. */
  private static final int LOSE_ONE_PIECES = 48;

  private interface Op {
    void run(VirtualDisk d) throws IOException;
  }

  /** One step (one atomic API call) and the files (path to size, all zeros) once it is acknowledged. */
  private record Step(String name, Op op, Map<String, Integer> after) {}

  /**
   * Each case below is one where an older block can stand in for a lost newer one: the first transaction of a WAL
   * epoch puts a zero image where the previous epoch's first transaction put one of another inode (or an emptied
   * directory block where a zero data image was), and a file written in place onto the blocks of a deleted file
   * of another inode. Inode numbers are reused lowest first, hence the directory that takes the deleted file's.
   */
  private static List<Step> workload(int payload, long fillBlocks) {
    List<Step> steps = new ArrayList<>();
    Map<String, Integer> files = new TreeMap<>();
    int fill = (int) (fillBlocks * payload);
    int inPlace = 100 * payload;
    steps.add(step("write /a (journaled zeros)", d -> d.writeFile("/a", new byte[100]), files,
        m -> m.put("/a", 100)));
    steps.add(step("checkpoint", VirtualDisk::checkpoint, files, m -> { }));
    steps.add(step("write /b (first of an epoch, another inode)", d -> d.writeFile("/b", new byte[100]), files,
        m -> m.put("/b", 100)));
    steps.add(step("mkdir /x", d -> d.mkdir("/x"), files, m -> { }));
    steps.add(step("write /x/f", d -> d.writeFile("/x/f", new byte[10]), files, m -> m.put("/x/f", 10)));
    steps.add(step("checkpoint", VirtualDisk::checkpoint, files, m -> { }));
    steps.add(step("write /z (first of an epoch)", d -> d.writeFile("/z", new byte[100]), files,
        m -> m.put("/z", 100)));
    steps.add(step("checkpoint", VirtualDisk::checkpoint, files, m -> { }));
    steps.add(step("delete /x/f (first of an epoch, its directory block becomes zeros)", d -> d.delete("/x/f"),
        files, m -> m.remove("/x/f")));
    steps.add(step("write /fill (zeros over most of the free space)", d -> d.writeFile("/fill", new byte[fill]),
        files, m -> m.put("/fill", fill)));
    steps.add(step("delete /fill", d -> d.delete("/fill"), files, m -> m.remove("/fill")));
    steps.add(step("checkpoint", VirtualDisk::checkpoint, files, m -> { }));
    steps.add(step("mkdir /d (takes /fill's inode number)", d -> d.mkdir("/d"), files, m -> { }));
    steps.add(step("write /c (in place, checked, onto /fill's blocks)", d -> d.writeFile("/c", new byte[inPlace]),
        files, m -> m.put("/c", inPlace)));
    steps.add(step("batch: two identical files, a delete", d -> d.batch(x -> {
      x.writeFile("/e", new byte[20 * payload]);
      x.writeFile("/f", new byte[20 * payload]);
      x.delete("/b");
    }), files, m -> {
      m.put("/e", 20 * payload);
      m.put("/f", 20 * payload);
      m.remove("/b");
    }));
    steps.add(step("rename /c over /e", d -> d.rename("/c", "/e"), files, m -> m.put("/e", m.remove("/c"))));
    steps.add(step("truncate /e", d -> d.truncate("/e", 3 * payload + 5), files, m -> m.put("/e", 3 * payload + 5)));
    steps.add(step("append zeros to /e", d -> d.append("/e", new byte[2 * payload]), files,
        m -> m.put("/e", 5 * payload + 5)));
    steps.add(step("close", VirtualDisk::close, files, m -> { }));
    return steps;
  }

  private static Step step(String name, Op op, Map<String, Integer> files,
      java.util.function.Consumer<Map<String, Integer>> effect) {
    effect.accept(files);
    return new Step(name, op, new TreeMap<>(files));
  }

  /** A run cut at write {@code cut} (-1: none): the device and how many steps were acknowledged. */
  private record Run(PowerLossDevice device, int acknowledged) {}

  /** Blocks of /fill: all the free space of a fresh volume but 40, so that /c (100 blocks) must reuse its blocks. */
  private static long fillBlocks(int blockSize) throws IOException {
    try (VirtualDisk d = VirtualDisk.create(new PowerLossDevice("measure"), TestVolumes.options(blockSize))) {
      return d.info().freeBlocks() - 40;
    }
  }

  private static Run run(int blockSize, long cut) throws IOException {
    PowerLossDevice dev = new PowerLossDevice("zeros bs=" + blockSize + " cut " + cut);
    List<Step> steps = workload(blockSize - 16, fillBlocks(blockSize));
    if (cut >= 0) {
      dev.crashAt(cut);
    }
    int done = 0;
    try {
      VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(blockSize));
      for (Step s : steps) {
        s.op().run(d);
        done++;
      }
    } catch (PowerCutException e) {
      return new Run(dev, done);
    } catch (IOException e) {
      if (!dev.isCut()) {
        throw e;
      }
      return new Run(dev, done);
    }
    return new Run(dev, -1);
  }

  @ParameterizedTest(name = "bs={0}")
  @ValueSource(ints = {512, 4096})
  void everyCrashPoint_recoversTheFilesOfAnAcknowledgedStep(int blockSize) throws IOException {
    PowerLossDevice probe = run(blockSize, -1).device();
    long writes = probe.writeCount();
    List<Step> steps = workload(blockSize - 16, fillBlocks(blockSize));
    List<String> failures = new ArrayList<>();
    int cases = 0;
    int loseOne = 0;
    for (long cut = 0; cut < writes; cut++) {
      Run r = run(blockSize, cut);
      assertThat(r.acknowledged()).as("cut %d was reached", cut).isNotNegative();
      List<KeepPolicy> policies = new ArrayList<>(List.of(KeepPolicy.NONE, KeepPolicy.ALL,
          KeepPolicy.randomSubset(cut), KeepPolicy.randomBlocks(blockSize, cut)));
      int pieces = r.device().pendingPieces(blockSize);
      for (int k = Math.max(0, pieces - LOSE_ONE_PIECES); k < pieces; k++) {
        policies.add(KeepPolicy.loseOne(blockSize, k));
        loseOne++;
      }
      // Step 0 (create) may be cut too: before it completes nothing is promised, not even a volume.
      Map<String, Integer> before = r.acknowledged() == 0 ? null : steps.get(r.acknowledged() - 1).after();
      Map<String, Integer> inFlight = steps.get(r.acknowledged()).after();
      for (KeepPolicy policy : policies) {
        cases++;
        String where = "bs=" + blockSize + " cut " + cut + " during '" + steps.get(r.acknowledged()).name() + "', "
            + policy;
        try {
          check(r.device().powerLoss(policy), before, inFlight);
        } catch (AssertionError | IOException | RuntimeException e) {
          if (before == null && e instanceof IOException) {
            continue;
          }
          failures.add(where + ": " + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
        }
      }
    }
    assertThat(loseOne).as("lose-one cases").isPositive();
    assertThat(failures).as("%d cases over %d crash points", cases, writes).isEmpty();
  }

  private static void check(PowerLossDevice survivor, Map<String, Integer> before, Map<String, Integer> inFlight)
      throws IOException {
    try (VirtualDisk d = TestVolumes.open(survivor)) {
      Map<String, Integer> found = new TreeMap<>();
      for (String p : List.of("/a", "/b", "/c", "/e", "/f", "/z", "/fill", "/x/f")) {
        if (d.exists(p)) {
          byte[] content = d.readFile(p);
          assertThat(content).as("%s is all zeros", p).containsOnly((byte) 0);
          found.put(p, content.length);
        }
      }
      if (before == null) {
        assertThat(found).isIn(Map.of(), inFlight);
      } else {
        assertThat(found).as("files after the last acknowledged step or the one in flight").isIn(before, inFlight);
      }
      TestVolumes.assertClean(d.verify(Progress.NONE), "after recovery");
    }
  }
}
