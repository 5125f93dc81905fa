package dev.vde.module.copy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.VdeException;
import dev.vde.VdeNoSpaceException;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InPlaceAddition;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Random changes made from the progress callback while the pre-copy's first scan runs without any lock (the
 * first "scanning inodes" phase only), on 512-byte blocks (one inode per table block, so the scan's runs of table
 * blocks mix states, and chains are read at another moment than their inodes): creates, deletes, rewrites,
 * appends, truncates, positional writes, renames, batches, staged streams, frees reused after a checkpoint,
 * a padding claim; copies adding nothing, Transit or Tags (which relocates), verified. Every copy must equal the
 * source as the final pass saw it, and a copy refused for room must be refused again without the changes.
 * {@code -Dvde.copy.scanSeeds=N} runs more seeds (40 by default; 2,500 have passed).
 */
class PreCopyScanStressTest {
  private static final int BS = 512;
  private static final int PAYLOAD = BS - 16;

  @Test
  void randomChangesDuringTheUnlockedScan() throws Exception {
    int seeds = Integer.getInteger("vde.copy.scanSeeds", 40);
    Map<String, Integer> stats = new TreeMap<>();
    for (int seed = 0; seed < seeds; seed++) {
      String outcome = runOne(seed);
      stats.merge(outcome, 1, Integer::sum);
    }
    System.out.println("[copy] pre-copy scan stress, " + seeds + " seeds: " + stats);
  }

  private String runOne(int seed) throws Exception {
    Random rnd = new Random(seed);
    PowerLossDevice source = new PowerLossDevice("stress source " + seed);
    try (VirtualDisk d = VirtualDisk.create(source, CreateOptions.ofSize(12L << 20).blockSize(BS)
        .inodeCount(4000).label("stress"))) {
      List<String> files = new ArrayList<>();
      d.mkdirs("/d/e");
      d.batch(x -> {
        for (int i = 0; i < 700; i++) {
          String p = (i % 3 == 0 ? "/d/e/f" : i % 3 == 1 ? "/d/f" : "/f") + i;
          x.writeFile(p, SeededBytes.bytes(seed * 10000 + i, rnd.nextInt(6) * PAYLOAD + rnd.nextInt(PAYLOAD)));
          files.add(p);
        }
      });
      // Fragmented files spread over the table: chains of one to three blocks.
      for (int k = 0; k < 12; k++) {
        String p = "/frag" + k;
        d.writeFile(p, new byte[0]);
        files.add(p);
        int pieces = 10 + rnd.nextInt(50);
        for (int i = 0; i < pieces; i++) {
          d.append(p, SeededBytes.bytes(seed * 777 + k * 100 + i, PAYLOAD));
          d.writeFile(p + ".s" + i, SeededBytes.bytes(i, 7));
          files.add(p + ".s" + i);
        }
      }
      for (int i = 0; i < 150; i++) {
        String p = files.remove(rnd.nextInt(files.size()));
        d.delete(p);
      }
      if (rnd.nextBoolean()) {
        long spare = d.info().freeBlocks() - 300;
        if (spare > 0) {
          d.writeFile("/filler", new byte[(int) (spare * PAYLOAD)]);
        }
      }
      d.checkpoint();
      Set<Module> added = switch (rnd.nextInt(3)) {
        case 0 -> EnumSet.noneOf(Module.class);
        case 1 -> EnumSet.of(Module.TRANSIT);
        default -> EnumSet.of(Module.TAGS);
      };
      long total = d.volume().superblock().inodeTableInitBlocks();
      TreeMap<Long, Integer> points = new TreeMap<>();
      int np = 1 + rnd.nextInt(4);
      for (int i = 0; i < np; i++) {
        points.put(1 + (long) rnd.nextInt((int) total), 1 + rnd.nextInt(5));
      }
      boolean[] firstScanOver = {false};
      int[] scans = {0};
      int[] changes = {0};
      List<String> log = new ArrayList<>();
      Throwable[] failed = {null};
      Progress during = (phase, done, tot, unit) -> {
        if (phase.equals("scanning inodes")) {
          // Every scan reports its start (0 done) first: a second start ends the first scan.
          if (done == 0) {
            if (scans[0] > 0) {
              firstScanOver[0] = true;
            }
            scans[0]++;
          }
        } else {
          firstScanOver[0] = true;
        }
        if (!firstScanOver[0] && phase.equals("scanning inodes") && points.containsKey(done)) {
          int n = points.remove(done);
          for (int i = 0; i < n; i++) {
            try {
              change(d, files, rnd, log);
              changes[0]++;
            } catch (VdeNoSpaceException full) {
              log.add("nospace");
            } catch (Throwable t) {
              failed[0] = t;
            }
          }
        }
      };
      PowerLossDevice target = new PowerLossDevice("stress copy " + seed);
      CopyResult r;
      try {
        r = ExtentAwareCopy.copy(d, target, CopyOptions.defaults().modulesToAdd(added).verify(true)
            .progress(during));
      } catch (VdeNoSpaceException e) {
        // Legitimate only if the source as it is now does not fit either.
        try {
          ExtentAwareCopy.copy(d, new PowerLossDevice("again " + seed), CopyOptions.defaults().modulesToAdd(added));
        } catch (VdeNoSpaceException also) {
          return "refused: no room";
        }
        throw new AssertionError("seed " + seed + " changes " + log + ": spurious no-space: " + e, e);
      } catch (VdeException e) {
        throw new AssertionError("seed " + seed + " changes " + log + ": copy failed: " + e, e);
      }
      assertThat(failed[0]).as("seed %d change failed", seed).isNull();
      Map<String, String> want = CopyFixtures.tree(d);
      try (VirtualDisk c = VirtualDisk.open(target, OpenOptions.readOnlyOptions())) {
        assertThat(CopyFixtures.tree(c)).as("seed %d changes %s", seed, log).isEqualTo(want);
        CopyFixtures.assertClean(c, "seed " + seed + " changes " + log);
      }
      assertThat(r.verified()).isTrue();
      // scans: 1 unlocked + (1 held fallback) + 1 final
      return (changes[0] == 0 ? "nochange" : "changed") + (scans[0] >= 3 ? "+fallback" : "+unlocked")
          + (r.blocksRelocated() > 0 ? "+reloc" : "");
    }
  }

  private static void change(VirtualDisk d, List<String> files, Random rnd, List<String> log) throws IOException {
    int kind = rnd.nextInt(13);
    String some = files.isEmpty() ? null : files.get(rnd.nextInt(files.size()));
    int n = rnd.nextInt(1_000_000);
    log.add(kind + (some == null ? "" : ":" + some));
    switch (kind) {
      case 0 -> {
        if (some != null) {
          d.delete(some);
          files.remove(some);
        }
      }
      case 1 -> {
        String p = "/d/new" + n;
        d.writeFile(p, SeededBytes.bytes(n, rnd.nextInt(30) * PAYLOAD + rnd.nextInt(PAYLOAD)));
        files.add(p);
      }
      case 2 -> {
        if (some != null) {
          d.writeFile(some, SeededBytes.bytes(n, rnd.nextInt(30) * PAYLOAD + rnd.nextInt(PAYLOAD)));
        }
      }
      case 3 -> {
        if (some != null) {
          d.append(some, SeededBytes.bytes(n, 1 + rnd.nextInt(3 * PAYLOAD)));
        }
      }
      case 4 -> {
        if (some != null) {
          String to = "/d/e/mv" + n;
          d.rename(some, to);
          files.set(files.indexOf(some), to);
        }
      }
      case 5 -> d.checkpoint();
      case 6 -> {
        if (some != null) {
          long size = d.stat(some).size();
          d.truncate(some, size == 0 ? 0 : rnd.nextLong(size));
        }
      }
      case 7 -> {
        if (some != null) {
          long size = d.stat(some).size();
          if (size > 0) {
            byte[] b = SeededBytes.bytes(n, 1 + rnd.nextInt(2 * PAYLOAD));
            d.write(some, rnd.nextLong(size), b, 0, b.length);
          }
        }
      }
      case 8 -> d.batch(x -> {
        for (int i = 0; i < 5; i++) {
          String p = "/d/b" + n + "-" + i;
          x.writeFile(p, SeededBytes.bytes(n + i, rnd.nextInt(4) * PAYLOAD + 1));
          files.add(p);
        }
        if (files.size() > 10) {
          x.delete(files.remove(rnd.nextInt(files.size() - 5)));
        }
      });
      case 9 -> {
        // Longer than 1,024 blocks of payload: staged without the writer lock.
        String p = some != null && rnd.nextBoolean() ? some : "/d/stream" + n;
        byte[] b = SeededBytes.bytes(n, 1100 * PAYLOAD + rnd.nextInt(PAYLOAD));
        d.writeFile(p, new ByteArrayInputStream(b));
        if (!files.contains(p)) {
          files.add(p);
        }
      }
      case 10 -> {
        if (some != null) {
          int size = (int) d.stat(some).size();
          d.delete(some);
          files.remove(some);
          d.checkpoint();
          String p = "/d/e/again" + n;
          d.writeFile(p, SeededBytes.bytes(n, size));
          files.add(p);
        }
      }
      case 11 -> d.mkdirs("/d/dir" + n + "/x");
      default -> {
        if (!d.info().modules().contains(Module.TRANSIT)) {
          InPlaceAddition.add(d, List.of(Module.TRANSIT));
        }
      }
    }
  }
}
