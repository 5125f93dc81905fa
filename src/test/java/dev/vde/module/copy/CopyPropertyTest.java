package dev.vde.module.copy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.VdeInvalidArgumentException;
import dev.vde.VdeNoSpaceException;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * Random file sets with random deletions, copied with a random set of added modules: the copy holds the same
 * tree, is clean, moved exactly the allocated data blocks; or, when the new metadata leaves too little room, the
 * copy is refused without writing anything.
 */
class CopyPropertyTest {
  private static final int BS = 4096;
  private static final int PAYLOAD = BS - 16;
  private static final List<Module> CANDIDATES = List.of(Module.TAGS, Module.TRANSIT, Module.SECURITY,
      Module.COMPRESSION, Module.INTELLIGENCE, Module.PRIVACY, Module.AUDIT_LOG);

  /** Write (size, in blocks and a tail) or delete (an earlier file, picked modulo what exists). */
  record Op(boolean delete, int pick, int blocks, int tail) {}

  @Property(tries = 25)
  void copiesAreFaithful(@ForAll("ops") List<Op> ops, @ForAll("modules") Set<Module> added) throws IOException {
    PowerLossDevice source = new PowerLossDevice("property source");
    try (VirtualDisk d = VirtualDisk.create(source, CreateOptions.ofSize(8L << 20).blockSize(BS))) {
      apply(d, ops);
      Map<String, String> want = CopyFixtures.tree(d);
      long estimate = ExtentAwareCopy.estimateCopyBlocks(d);
      PowerLossDevice target = new PowerLossDevice("property copy");
      CopyResult r;
      try {
        r = ExtentAwareCopy.copy(d, target, CopyOptions.defaults().modulesToAdd(added).verify(true));
      } catch (VdeNoSpaceException | VdeInvalidArgumentException tooSmall) {
        assertThat(target.writeCount()).as("refused before writing: " + tooSmall.getMessage()).isZero();
        Statistics.collect("refused: no room");
        return;
      }
      assertThat(r.blocksCopied()).isEqualTo(estimate);
      Statistics.collect(r.blocksRelocated() > 0 ? "copied, relocating" : "copied in place");
      try (VirtualDisk c = VirtualDisk.open(target, OpenOptions.readOnlyOptions())) {
        assertThat(CopyFixtures.tree(c)).isEqualTo(want);
        CopyFixtures.assertClean(c, "property copy with " + added);
        assertThat(c.info().modules()).containsAll(added);
      }
    }
  }

  /**
   * A change made to the source during its pre-copy: delete, write anew, rewrite, append, rename, checkpoint, or
   * replace (delete, checkpoint, and a new file of the same size).
   */
  record Change(int kind, int pick, int blocks, int tail) {}

  /**
   * Random changes made to the source while its data is being pre-copied, at a random point of the pre-copy (the
   * copy's own progress callback runs them, holding no lock of the source): the copy must hold the tree as it is
   * after the changes, be clean, and carry the new modules. Checkpoints among the changes let freed blocks be
   * reused, with other bytes, by later writes.
   */
  @Property(tries = 60)
  void preCopyFollowsChangesMadeDuringIt(@ForAll("ops") List<Op> ops, @ForAll("changes") List<Change> changes,
      @ForAll("fewModules") Set<Module> added, @ForAll @net.jqwik.api.constraints.IntRange(min = 0, max = 6) int at)
      throws IOException {
    PowerLossDevice source = new PowerLossDevice("pre-copy source");
    try (VirtualDisk d = VirtualDisk.create(source, CreateOptions.ofSize(8L << 20).blockSize(BS))) {
      List<String> files = apply(d, ops);
      // Nearly full, so that writes during the pre-copy must take blocks freed (and checkpointed) during it.
      long spare = d.info().freeBlocks() - 16;
      if (spare > 0) {
        d.writeFile("/filler", new byte[(int) (spare * PAYLOAD)]);
      }
      int[] calls = {0};
      boolean[] done = {false};
      IOException[] failed = {null};
      dev.vde.Progress during = (phase, n, total, unit) -> {
        // After some data was pre-copied (progress with n > 0 follows a written piece): what was copied goes stale.
        if (phase.equals("pre-copying") && !done[0] && n > 0 && (calls[0]++ >= at || n == total)) {
          done[0] = true;
          try {
            change(d, files, changes);
          } catch (IOException e) {
            failed[0] = e;
          }
        }
      };
      PowerLossDevice target = new PowerLossDevice("pre-copy copy");
      CopyResult r;
      try {
        r = ExtentAwareCopy.copy(d, target, CopyOptions.defaults().modulesToAdd(added).progress(during));
      } catch (VdeNoSpaceException | VdeInvalidArgumentException tooSmall) {
        Statistics.collect("refused: no room");
        return;
      }
      assertThat(failed[0]).isNull();
      Statistics.collect(done[0] ? "changed during the pre-copy" : "no data to pre-copy");
      Map<String, String> want = CopyFixtures.tree(d);
      try (VirtualDisk c = VirtualDisk.open(target, OpenOptions.readOnlyOptions())) {
        assertThat(CopyFixtures.tree(c)).isEqualTo(want);
        CopyFixtures.assertClean(c, "pre-copy with " + added + " and " + changes);
        assertThat(c.info().modules()).containsAll(added);
        assertThat(r.blocksCopied()).isEqualTo(ExtentAwareCopy.estimateCopyBlocks(d));
      }
    }
  }

  private static void change(VirtualDisk d, List<String> files, List<Change> changes) throws IOException {
    int n = 0;
    for (Change c : changes) {
      String some = files.isEmpty() ? null : files.get(c.pick() % files.size());
      byte[] content = SeededBytes.bytes(5000 + n, c.blocks() * PAYLOAD + c.tail());
      try {
        switch (c.kind()) {
          case 0 -> {
            if (some != null) {
              d.delete(some);
              files.remove(some);
            }
          }
          case 1 -> {
            String path = "/d/new" + n;
            d.writeFile(path, content);
            files.add(path);
          }
          case 2 -> {
            if (some != null) {
              d.writeFile(some, content);
            }
          }
          case 3 -> {
            if (some != null) {
              d.append(some, SeededBytes.bytes(6000 + n, c.tail() + 1));
            }
          }
          case 4 -> {
            if (some != null) {
              String to = "/d/e/moved" + n;
              d.rename(some, to);
              files.set(files.indexOf(some), to);
            }
          }
          case 6 -> {
            // Replace: the freed inode number and blocks are what a new file of the same size gets next.
            if (some != null) {
              int size = (int) d.stat(some).size();
              d.delete(some);
              files.remove(some);
              d.checkpoint();
              String path = "/d/e/again" + n;
              d.writeFile(path, SeededBytes.bytes(7000 + n, size));
              files.add(path);
            }
          }
          default -> d.checkpoint();
        }
      } catch (VdeNoSpaceException full) {
        // A change that does not fit is not made; the copy must still match what is there.
      }
      n++;
    }
  }

  private static List<String> apply(VirtualDisk d, List<Op> ops) throws IOException {
    List<String> files = new ArrayList<>();
    d.mkdirs("/d/e");
    int n = 0;
    for (Op op : ops) {
      if (op.delete()) {
        if (!files.isEmpty()) {
          d.delete(files.remove(op.pick() % files.size()));
        }
        continue;
      }
      String path = (n % 3 == 0 ? "/d/e/f" : n % 3 == 1 ? "/d/f" : "/f") + n;
      byte[] content = SeededBytes.bytes(n, op.blocks() * PAYLOAD + op.tail());
      try {
        d.writeFile(path, content);
        files.add(path);
      } catch (VdeNoSpaceException full) {
        // A full source is a fine source too.
      }
      n++;
    }
    return files;
  }

  @Provide
  Arbitrary<List<Op>> ops() {
    Arbitrary<Op> op = Combinators.combine(Arbitraries.integers().between(0, 3), Arbitraries.integers()
        .between(0, 1000), Arbitraries.integers().between(0, 40), Arbitraries.integers().between(0, PAYLOAD))
        .as((kind, pick, blocks, tail) -> new Op(kind == 0, pick, blocks, tail));
    return op.list().ofMinSize(1).ofMaxSize(60);
  }

  @Provide
  Arbitrary<List<Change>> changes() {
    Arbitrary<Change> c = Combinators.combine(Arbitraries.integers().between(0, 6), Arbitraries.integers()
        .between(0, 1000), Arbitraries.integers().between(0, 30), Arbitraries.integers().between(0, PAYLOAD))
        .as(Change::new);
    return c.list().ofMinSize(1).ofMaxSize(25);
  }

  /** Mostly modules whose fields fit the inode padding (no relocation), sometimes Tags, which grows the table. */
  @Provide
  Arbitrary<Set<Module>> fewModules() {
    return Arbitraries.of(Module.TRANSIT, Module.SUSTAINABILITY, Module.TAGS).set().ofMaxSize(2)
        .map(s -> s.isEmpty() ? EnumSet.noneOf(Module.class) : EnumSet.copyOf(s));
  }

  @Provide
  Arbitrary<Set<Module>> modules() {
    return Arbitraries.of(CANDIDATES).set().ofMaxSize(3).map(s -> s.isEmpty() ? EnumSet.noneOf(Module.class)
        : EnumSet.copyOf(s));
  }
}
