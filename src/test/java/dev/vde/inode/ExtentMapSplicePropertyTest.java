package dev.vde.inode;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;

/**
 * {@link ExtentMap#unmap} and {@link ExtentMap#map} splice by binary search; they must still give exactly what
 * the straightforward algorithms give (written out below as the model): the same extents in the same order, and
 * the same freed runs in the same order. Lists come both normalized (as this code leaves them) and with
 * neighbours that continue each other (as another writer may leave them), and are fed back from one step to the
 * next the way positional writes do, so that what a list remembers about itself is exercised too.
 */
class ExtentMapSplicePropertyTest {

  // ------------------------------------------------------------------------------------------------ the model

  static List<Extent> modelNormalize(List<Extent> xs) {
    List<Extent> s = new ArrayList<>(xs);
    s.sort(Comparator.comparingLong(Extent::logical));
    List<Extent> out = new ArrayList<>();
    for (Extent e : s) {
      if (e.count() <= 0) {
        continue;
      }
      if (!out.isEmpty()) {
        Extent last = out.get(out.size() - 1);
        if (last.logicalEnd() == e.logical() && last.end() == e.start()
            && (long) last.count() + e.count() <= Integer.MAX_VALUE) {
          out.set(out.size() - 1, new Extent(last.logical(), last.start(), last.count() + e.count()));
          continue;
        }
      }
      out.add(e);
    }
    return out;
  }

  static List<Extent> modelUnmap(List<Extent> xs, long from, long to, List<long[]> freed) {
    List<Extent> out = new ArrayList<>();
    for (Extent e : xs) {
      long a = Math.max(e.logical(), from);
      long b = Math.min(e.logicalEnd(), to);
      if (a >= b) {
        out.add(e);
        continue;
      }
      if (e.logical() < a) {
        out.add(new Extent(e.logical(), e.start(), (int) (a - e.logical())));
      }
      freed.add(new long[] {e.start() + (a - e.logical()), b - a});
      if (b < e.logicalEnd()) {
        out.add(new Extent(b, e.start() + (b - e.logical()), (int) (e.logicalEnd() - b)));
      }
    }
    return out;
  }

  static List<Extent> modelMap(List<Extent> xs, List<Extent> added) {
    List<Extent> all = new ArrayList<>(xs);
    all.addAll(added);
    return modelNormalize(all);
  }

  // ------------------------------------------------------------------------------------------------ generators

  /** One extent of a generated list: the hole before it, its length, and where it lies physically. */
  record Piece(int gap, int count, boolean physicallyNext, int jump) {}

  @Provide
  Arbitrary<List<Piece>> pieces() {
    Arbitrary<Integer> gap = Arbitraries.<Integer>frequencyOf(
        weighted(3, Arbitraries.just(0)), weighted(2, Arbitraries.integers().between(1, 4)),
        weighted(1, Arbitraries.integers().between(5, 1000)));
    Arbitrary<Integer> count = Arbitraries.<Integer>frequencyOf(
        weighted(6, Arbitraries.integers().between(1, 6)), weighted(2, Arbitraries.integers().between(7, 300)),
        weighted(1, Arbitraries.integers().between(Integer.MAX_VALUE - 3, Integer.MAX_VALUE)));
    Arbitrary<Piece> piece = Combinators.combine(gap, count, Arbitraries.of(true, false),
        Arbitraries.integers().between(-40, 40)).as(Piece::new);
    return piece.list().ofMaxSize(60);
  }

  /** A valid list (sorted, non-overlapping, positive counts) in which neighbours may continue each other. */
  static List<Extent> build(List<Piece> ps, long firstLogical) {
    List<Extent> out = new ArrayList<>();
    long logical = firstLogical;
    long physEnd = 1000;
    for (Piece p : ps) {
      logical += p.gap();
      long start = p.physicallyNext() ? physEnd : Math.max(1, physEnd + p.jump() + (p.jump() >= 0 ? 1 : -1));
      out.add(new Extent(logical, start, p.count()));
      logical += p.count();
      physEnd = start + p.count();
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------------ properties

  @Property(tries = 400)
  void unmapEqualsTheWalk(@ForAll("pieces") List<Piece> ps, @ForAll boolean normalized,
      @ForAll @IntRange(min = 0, max = 3) int listKind, @ForAll long seed) {
    List<Extent> xs = build(ps, new Random(seed).nextInt(3));
    if (normalized) {
      xs = modelNormalize(xs);
    }
    Random r = new Random(seed);
    for (int i = 0; i < 8; i++) {
      long[] range = range(xs, r);
      checkUnmap(as(xs, listKind), range[0], range[1]);
    }
  }

  @Property(tries = 300)
  void mapEqualsNormalizeOfTheConcatenation(@ForAll("pieces") List<Piece> ps, @ForAll boolean normalized,
      @ForAll @IntRange(min = 0, max = 3) int listKind, @ForAll long seed) {
    List<Extent> xs = build(ps, 0);
    if (normalized) {
      xs = modelNormalize(xs);
    }
    Random r = new Random(seed);
    for (int i = 0; i < 6; i++) {
      long[] range = range(xs, r);
      if (range[1] - range[0] > 500) {
        range[1] = range[0] + 1 + r.nextInt(50);
      }
      List<Extent> kept = modelUnmap(xs, range[0], range[1], new ArrayList<>());
      List<Extent> added = fill(kept, range[0], range[1], r);
      checkMap(as(kept, listKind), added);
    }
  }

  /** map's promise holds for any input at all, even one no inode could hold. */
  @Property(tries = 300)
  void mapEqualsNormalizeForArbitraryLists(@ForAll long seed) {
    Random r = new Random(seed);
    for (int i = 0; i < 5; i++) {
      List<Extent> xs = arbitrary(r, r.nextInt(30));
      if (r.nextBoolean()) {
        xs = modelNormalize(xs);
      }
      List<Extent> added = arbitrary(r, r.nextInt(6));
      if (r.nextBoolean()) {
        added.sort(Comparator.comparingLong(Extent::logical));
      }
      checkMap(as(xs, r.nextInt(4)), added);
    }
  }

  /**
   * Positional writes and truncations one after another, each step's result (not a copy) fed to the next, as
   * VirtualDisk does; the model runs alongside on plain lists.
   */
  @Property(tries = 200)
  void writeSequencesMatchTheModel(@ForAll("pieces") List<Piece> ps, @ForAll boolean normalized,
      @ForAll long seed) {
    List<Extent> model = build(ps, 0);
    if (normalized) {
      model = modelNormalize(model);
    }
    List<Extent> real = List.copyOf(model);
    Random r = new Random(seed);
    for (int step = 0; step < 30; step++) {
      long end = model.isEmpty() ? 10 : model.get(model.size() - 1).logicalEnd() + 5;
      if (r.nextInt(10) == 0) {
        long keep = (long) (r.nextDouble() * end);
        List<long[]> mf = new ArrayList<>();
        List<long[]> rf = new ArrayList<>();
        model = modelUnmap(model, keep, Long.MAX_VALUE, mf);
        real = ExtentMap.unmap(real, keep, Long.MAX_VALUE, rf);
        assertThat(real).isEqualTo(model);
        assertThat(rf).usingRecursiveFieldByFieldElementComparator().isEqualTo(mf);
        continue;
      }
      long first = (long) (r.nextDouble() * end);
      long last = first + r.nextInt(r.nextBoolean() ? 3 : 40);
      List<long[]> mf = new ArrayList<>();
      List<long[]> rf = new ArrayList<>();
      List<Extent> mKept = modelUnmap(model, first, last + 1, mf);
      List<Extent> rKept = ExtentMap.unmap(real, first, last + 1, rf);
      assertThat(rKept).isEqualTo(mKept);
      assertThat(rf).usingRecursiveFieldByFieldElementComparator().isEqualTo(mf);
      List<Extent> added = fill(mKept, first, last + 1, r);
      model = modelMap(mKept, added);
      real = ExtentMap.map(rKept, added);
      assertThat(real).isEqualTo(model);
      assertThat(modelNormalize(real)).as("a write leaves the list normalized").isEqualTo(real);
    }
  }

  @Property(tries = 100)
  void concatenationKeepsEveryPartInOrder(@ForAll("pieces") List<Piece> ps, @ForAll long seed) {
    List<Extent> xs = build(ps, 0);
    Random r = new Random(seed);
    List<List<Extent>> parts = new ArrayList<>();
    int at = 0;
    while (at < xs.size()) {
      int n = 1 + r.nextInt(8);
      List<Extent> part = xs.subList(at, Math.min(xs.size(), at + n));
      parts.add(r.nextBoolean() ? List.copyOf(part) : ExtentList.copyOf(part));
      at += n;
    }
    List<Extent> all = ExtentMap.concat(parts);
    assertThat(all).isEqualTo(xs);
    checkUnmap(all, xs.isEmpty() ? 0 : xs.get(0).logical() + 1, xs.isEmpty() ? 5 : xs.get(0).logical() + 7);
  }

  /**
   * The inode check finds the same first bad extent as the loop it replaced, and what its pass records about a
   * list leaves map's result unchanged.
   */
  @Property(tries = 300)
  void validationFindsTheSameExtentAndWhatItLearnsServesMap(@ForAll("pieces") List<Piece> ps, @ForAll long seed) {
    Random r = new Random(seed);
    List<Extent> xs = build(ps, r.nextInt(3));
    if (r.nextBoolean()) {
      xs = modelNormalize(xs);
    }
    long total = 1;
    for (Extent e : xs) {
      total = Math.max(total, e.end());
    }
    total += r.nextInt(3) - (r.nextInt(4) == 0 ? 1 : 0);
    if (!xs.isEmpty() && r.nextBoolean()) {
      int i = r.nextInt(xs.size());
      Extent e = xs.get(i);
      Extent bad = switch (r.nextInt(4)) {
        case 0 -> new Extent(e.logical(), e.start(), r.nextInt(2) - 1);
        case 1 -> new Extent(e.logical(), -r.nextInt(2), e.count());
        case 2 -> new Extent(e.logical(), total - e.count() + 1, e.count());
        default -> new Extent(Math.max(0, e.logical() - 1 - r.nextInt(3)), e.start(), e.count());
      };
      xs = new ArrayList<>(xs);
      xs.set(i, bad);
    }
    int kind = r.nextInt(4);
    List<Extent> list = as(xs, kind);
    int got = ExtentMap.firstInvalid(list, total);
    assertThat(got).isEqualTo(modelFirstInvalid(xs, total));
    if (got < 0) {
      long[] range = range(xs, r);
      if (range[1] - range[0] > 500) {
        range[1] = range[0] + 1 + r.nextInt(50);
      }
      checkUnmap(list, range[0], range[1]);
      List<Extent> kept = ExtentMap.unmap(list, range[0], range[1], new ArrayList<>());
      checkMap(kept, fill(kept, range[0], range[1], r));
      checkMap(list, List.of(new Extent(xs.isEmpty() ? 0 : xs.get(xs.size() - 1).logicalEnd(), 1 + r.nextInt(9), 1)));
    }
  }

  static int modelFirstInvalid(List<Extent> xs, long total) {
    long prevEnd = 0;
    for (int i = 0; i < xs.size(); i++) {
      Extent e = xs.get(i);
      if (e.count() <= 0 || e.start() <= 0 || e.start() + e.count() > total || e.logical() < prevEnd) {
        return i;
      }
      prevEnd = e.logicalEnd();
    }
    return -1;
  }

  @Property(tries = 100)
  void sliceCopiesTheRange(@ForAll("pieces") List<Piece> ps, @ForAll long seed) {
    Random r = new Random(seed);
    List<Extent> xs = build(ps, 0);
    int from = r.nextInt(xs.size() + 1);
    int to = from + r.nextInt(xs.size() - from + 1);
    for (int kind = 0; kind < 4; kind++) {
      assertThat(ExtentMap.slice(as(xs, kind), from, to)).isEqualTo(xs.subList(from, to));
      assertThat(ExtentMap.slice(as(xs, kind).subList(from, to), 0, to - from)).isEqualTo(xs.subList(from, to));
    }
  }

  // ------------------------------------------------------------------------------------------------ edge cases

  @Example
  void emptyList() {
    checkUnmap(List.of(), 0, 10);
    checkUnmap(List.of(), 0, Long.MAX_VALUE);
    checkMap(List.of(), List.of());
    checkMap(List.of(), List.of(new Extent(3, 50, 2), new Extent(5, 52, 1), new Extent(9, 53, 1)));
  }

  @Example
  void rangesBeforeAfterAndAroundEverything() {
    List<Extent> xs = List.of(new Extent(10, 100, 5), new Extent(20, 200, 5), new Extent(30, 300, 5));
    checkUnmap(xs, 0, 10);
    checkUnmap(xs, 35, 100);
    checkUnmap(xs, 35, Long.MAX_VALUE);
    checkUnmap(xs, 15, 20);
    checkUnmap(xs, 0, Long.MAX_VALUE);
    checkUnmap(xs, 10, 35);
    checkUnmap(xs, 12, 12);
    checkUnmap(xs, 22, 12);
    checkMap(xs, List.of(new Extent(0, 1, 3)));
    checkMap(xs, List.of(new Extent(40, 400, 3)));
    checkMap(xs, List.of(new Extent(35, 305, 3)));
  }

  @Example
  void splittingOneExtentInTheMiddle() {
    List<Extent> xs = List.of(new Extent(0, 50, 4), new Extent(10, 100, 20), new Extent(40, 400, 5));
    List<long[]> freed = new ArrayList<>();
    List<Extent> kept = ExtentMap.unmap(xs, 15, 17, freed);
    assertThat(kept).containsExactly(new Extent(0, 50, 4), new Extent(10, 100, 5), new Extent(17, 107, 13),
        new Extent(40, 400, 5));
    assertThat(freed).hasSize(1);
    assertThat(freed.get(0)).containsExactly(105, 2);
    checkUnmap(xs, 15, 17);
    checkUnmap(xs, 2, 45);
  }

  @Example
  void mergesAtBothSeams() {
    List<Extent> kept = ExtentMap.unmap(List.of(new Extent(0, 100, 10), new Extent(10, 500, 10)), 4, 6,
        new ArrayList<>());
    // The new blocks continue the left piece physically and end where the right piece starts.
    List<Extent> added = List.of(new Extent(4, 104, 1), new Extent(5, 105, 1));
    assertThat(ExtentMap.map(kept, added)).containsExactly(new Extent(0, 100, 10), new Extent(10, 500, 10));
    checkMap(kept, added);
    // Only the left seam, only the right seam, and a run of added extents that merge with each other.
    checkMap(kept, List.of(new Extent(4, 104, 1), new Extent(5, 900, 1)));
    checkMap(kept, List.of(new Extent(4, 900, 1), new Extent(5, 105, 1)));
    checkMap(List.of(new Extent(0, 100, 4), new Extent(10, 200, 4)),
        List.of(new Extent(4, 104, 2), new Extent(6, 106, 1), new Extent(7, 107, 3)));
    // Unsorted additions, and an addition that closes a hole between two extents of the list itself.
    checkMap(kept, List.of(new Extent(5, 105, 1), new Extent(4, 104, 1)));
    checkMap(List.of(new Extent(0, 100, 4), new Extent(6, 106, 4), new Extent(10, 110, 3)),
        List.of(new Extent(4, 104, 2)));
  }

  @Example
  void neighboursAnotherWriterLeftUnmerged() {
    List<Extent> xs = List.of(new Extent(0, 100, 2), new Extent(2, 102, 2), new Extent(8, 108, 2),
        new Extent(10, 110, 2));
    checkMap(xs, List.of(new Extent(5, 300, 1)));
    checkMap(xs, List.of());
    checkUnmap(xs, 1, 3);
  }

  @Example
  void mergesThatWouldOverflowTheCount() {
    int big = Integer.MAX_VALUE - 1;
    List<Extent> xs = List.of(new Extent(0, 1, big), new Extent((long) big + 5, 10_000_000_000L, 3));
    checkMap(xs, List.of(new Extent(big, 1L + big, 2), new Extent(big + 2L, 3L + big, 3)));
    checkMap(xs, List.of(new Extent(big, 1L + big, 1)));
    // Too long to merge whole, but the piece unmap leaves of the first one is short enough to merge with the second.
    List<Extent> ys = ExtentMap.map(List.of(), List.of(new Extent(0, 1, big), new Extent(big, 1L + big, 10)));
    assertThat(ys).hasSize(2);
    List<Extent> kept = ExtentMap.unmap(ys, 0, 20, new ArrayList<>());
    checkMap(kept, List.of(new Extent(big + 100L, 5, 1)));
    checkMap(kept, List.of());
    List<Extent> zs = ExtentMap.map(List.of(), List.of(new Extent(0, 1, 10), new Extent(10, 11, big)));
    assertThat(zs).hasSize(2);
    List<Extent> keptLeft = ExtentMap.unmap(zs, big - 5L, big + 10L, new ArrayList<>());
    checkMap(keptLeft, List.of(new Extent(big + 100L, 5, 1)));
  }

  // ------------------------------------------------------------------------------------------------ helpers

  private static void checkUnmap(List<Extent> xs, long from, long to) {
    List<long[]> mf = new ArrayList<>();
    List<long[]> rf = new ArrayList<>();
    List<Extent> expected = modelUnmap(new ArrayList<>(xs), from, to, mf);
    List<Extent> got = ExtentMap.unmap(xs, from, to, rf);
    assertThat(got).as("unmap [%d, %d) of %s", from, to, xs).isEqualTo(expected);
    assertThat(rf).as("freed by unmap [%d, %d) of %s", from, to, xs)
        .usingRecursiveFieldByFieldElementComparator().isEqualTo(mf);
  }

  private static void checkMap(List<Extent> xs, List<Extent> added) {
    List<Extent> expected = modelMap(new ArrayList<>(xs), added);
    List<Extent> got = ExtentMap.map(xs, added);
    assertThat(got).as("map %s into %s", added, xs).isEqualTo(expected);
  }

  /** The same list as a plain list, an immutable JDK list, or lists from ExtentMap that know or find their order. */
  private static List<Extent> as(List<Extent> xs, int kind) {
    return switch (kind) {
      case 0 -> new ArrayList<>(xs);
      case 1 -> List.copyOf(xs);
      case 2 -> ExtentList.copyOf(xs);
      default -> {
        ExtentList l = ExtentList.copyOf(xs);
        l.order();
        yield l;
      }
    };
  }

  /** A range to unmap: around, inside, before or after the list, sometimes empty or reversed, or to the end. */
  private static long[] range(List<Extent> xs, Random r) {
    long end = xs.isEmpty() ? 20 : xs.get(xs.size() - 1).logicalEnd();
    long lo = xs.isEmpty() ? 0 : xs.get(0).logical();
    long from = switch (r.nextInt(5)) {
      case 0 -> 0;
      case 1 -> Math.max(0, lo - 1 - r.nextInt(3));
      case 2 -> end + r.nextInt(3);
      default -> pick(xs, r);
    };
    long to = switch (r.nextInt(6)) {
      case 0 -> Long.MAX_VALUE;
      case 1 -> from + r.nextInt(2);
      case 2 -> Math.max(0, from - 1 - r.nextInt(3));
      case 3 -> end + r.nextInt(3);
      default -> from + 1 + r.nextInt(r.nextBoolean() ? 4 : 200);
    };
    return new long[] {from, to};
  }

  /** A logical block at or near an extent's edge, or inside one. */
  private static long pick(List<Extent> xs, Random r) {
    if (xs.isEmpty()) {
      return r.nextInt(20);
    }
    Extent e = xs.get(r.nextInt(xs.size()));
    return switch (r.nextInt(4)) {
      case 0 -> e.logical();
      case 1 -> e.logicalEnd();
      case 2 -> Math.max(0, e.logical() - 1);
      default -> e.logical() + (long) (r.nextDouble() * e.count());
    };
  }

  /**
   * New extents for unmapped {@code [from, to)} (which {@code kept} does not map), cut into runs; a run may
   * continue the left neighbour physically, continue the previous run, or end where the right neighbour starts,
   * so that every seam can merge. Sometimes only part of the range is filled, or the list comes shuffled or
   * with an empty extent, which map drops.
   */
  private static List<Extent> fill(List<Extent> kept, long from, long to, Random r) {
    Extent left = null;
    Extent right = null;
    for (Extent e : kept) {
      if (e.logicalEnd() <= from) {
        left = e;
      } else if (e.logical() >= to && right == null) {
        right = e;
      }
    }
    List<Extent> out = new ArrayList<>();
    long l = from;
    long phys = left != null && left.logicalEnd() == from && r.nextInt(3) > 0 ? left.end() : 5000 + r.nextInt(500);
    while (l < to) {
      int n = (int) Math.min(to - l, 1 + r.nextInt(4));
      boolean lastRun = l + n == to;
      if (lastRun && right != null && right.logical() == to && r.nextInt(3) > 0 && right.start() - n > 0) {
        phys = right.start() - n;
      }
      if (r.nextInt(6) > 0) {
        out.add(new Extent(l, phys, n));
      }
      l += n;
      phys = r.nextInt(3) > 0 ? phys + n : phys + n + 1 + r.nextInt(9);
    }
    if (r.nextInt(8) == 0) {
      out.add(r.nextInt(out.size() + 1), new Extent(from, 77, 0));
    }
    if (r.nextInt(5) == 0) {
      Collections.shuffle(out, r);
    }
    return out;
  }

  /** Extents with no rules at all: any order, overlaps, empty or negative counts. */
  private static List<Extent> arbitrary(Random r, int n) {
    List<Extent> out = new ArrayList<>();
    long l = r.nextInt(5);
    long p = 1 + r.nextInt(5);
    for (int i = 0; i < n; i++) {
      int c = r.nextInt(10) == 0 ? r.nextInt(3) - 1 : 1 + r.nextInt(4);
      if (r.nextInt(6) == 0) {
        l = r.nextInt(40);
        p = 1 + r.nextInt(40);
      }
      out.add(new Extent(l, p, c));
      l += Math.max(c, 0) + (r.nextBoolean() ? 0 : r.nextInt(3));
      p += Math.max(c, 0) + (r.nextBoolean() ? 0 : r.nextInt(3));
    }
    return out;
  }

  private static <T> Tuple.Tuple2<Integer, Arbitrary<? extends T>> weighted(int weight, Arbitrary<T> a) {
    return Tuple.of(weight, a);
  }
}
