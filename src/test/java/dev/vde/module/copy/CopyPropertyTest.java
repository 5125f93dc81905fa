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

  private static void apply(VirtualDisk d, List<Op> ops) throws IOException {
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
  }

  @Provide
  Arbitrary<List<Op>> ops() {
    Arbitrary<Op> op = Combinators.combine(Arbitraries.integers().between(0, 3), Arbitraries.integers()
        .between(0, 1000), Arbitraries.integers().between(0, 40), Arbitraries.integers().between(0, PAYLOAD))
        .as((kind, pick, blocks, tail) -> new Op(kind == 0, pick, blocks, tail));
    return op.list().ofMinSize(1).ofMaxSize(60);
  }

  @Provide
  Arbitrary<Set<Module>> modules() {
    return Arbitraries.of(CANDIDATES).set().ofMaxSize(3).map(s -> s.isEmpty() ? EnumSet.noneOf(Module.class)
        : EnumSet.copyOf(s));
  }
}
