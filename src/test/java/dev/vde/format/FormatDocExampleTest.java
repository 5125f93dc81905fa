package dev.vde.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.fs.Volume;
import dev.vde.inode.Inode;
import dev.vde.inode.InodeCodec;
import dev.vde.testing.PowerLossDevice;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Keeps docs/FORMAT.md honest: builds the volume of its worked example and compares every byte of it with the hex
 * dumps in the document, and checks the tables marked {@code <!-- doc-test: NAME -->} against the code.
 *
 * <p>Hex dump rules (also stated in the document): a fenced block whose info string is {@code hex block=N} or
 * {@code hex block=N..M} describes block N (or each of the blocks N to M, inclusive). Each line is either
 * {@code OOOO: b b b ...} (the bytes from hex offset OOOO on) or {@code OOOO..PPPP: b} (every byte from OOOO to PPPP
 * inclusive), where {@code b} is two hex digits or {@code xx}, a wildcard for bytes that depend on the clock or on
 * randomness. Text after {@code #} is a comment. Together the dumps must cover every byte of every block of the
 * image exactly once, and wildcards are accepted only over the UUID, the two times, the WAL salt, the root inode's
 * times and the checksums of the blocks holding them.
 */
class FormatDocExampleTest {
  /** The worked example: these values are stated in the document's text. */
  static final long EXAMPLE_SIZE = 80 * 1024;
  static final int EXAMPLE_BLOCK_SIZE = 512;
  static final String EXAMPLE_LABEL = "example";

  private static final int WILDCARD = -2;
  private static final int UNSET = -1;
  private static final Pattern FENCE = Pattern.compile("^```hex\\s+block=(\\d+)(?:\\.\\.(\\d+))?\\s*$");
  private static final Pattern LINE = Pattern.compile("^([0-9a-fA-F]{4})(?:\\.\\.([0-9a-fA-F]{4}))?:\\s*(.*)$");

  private static List<String> doc;

  @BeforeAll
  static void readDocument() throws IOException {
    Path p = Path.of(System.getProperty("basedir", ".")).resolve("docs").resolve("FORMAT.md");
    assertThat(p).as("the format document").exists();
    doc = Files.readAllLines(p, StandardCharsets.UTF_8);
  }

  // ------------------------------------------------------------------------------------------------ worked example

  @Test
  void hexDumpsOfTheWorkedExample_matchAFreshlyCreatedVolume_byteForByte() throws IOException {
    CreateOptions options = CreateOptions.ofSize(EXAMPLE_SIZE).blockSize(EXAMPLE_BLOCK_SIZE).label(EXAMPLE_LABEL);
    PowerLossDevice dev = new PowerLossDevice("format document example");
    // The bytes as create leaves them; closing would checkpoint and write superblock sequence 2 into block 0.
    VirtualDisk disk = VirtualDisk.create(dev, options);
    byte[] image = dev.snapshot();
    disk.close();
    int bs = EXAMPLE_BLOCK_SIZE;
    Volume.Plan plan = Volume.plan(options);
    assertThat((long) image.length).as("image length").isEqualTo(plan.totalBlocks() * bs);
    int blocks = (int) plan.totalBlocks();

    int[][] expected = new int[blocks][bs];
    int[][] lineOf = new int[blocks][bs];
    for (int[] e : expected) {
      java.util.Arrays.fill(e, UNSET);
    }
    List<String> errors = new ArrayList<>();
    parseDumps(expected, lineOf, bs, errors);
    failIf(errors, "malformed hex dumps in FORMAT.md");

    // Every byte of every block is described exactly once.
    for (int b = 0; b < blocks; b++) {
      for (int o = 0; o < bs; o++) {
        if (expected[b][o] == UNSET) {
          errors.add(String.format("block %d offset 0x%04x: not described by any hex dump", b, o));
          break;
        }
      }
    }
    failIf(errors, "FORMAT.md's hex dumps do not cover the whole example image");

    // Wildcards only where the bytes depend on the clock or on randomness.
    boolean[][] mayVary = new boolean[blocks][bs];
    for (int slot = 0; slot < 2; slot++) {
      mark(mayVary[slot], 24, 56);   // uuid, createdMillis, modifiedMillis
      mark(mayVary[slot], 168, 176); // walSalt
      mark(mayVary[slot], bs - 8, bs); // checksum over them
    }
    int ipb = InodeCodec.perBlock(bs, plan.layout().inodeSize());
    int rootBlock = (int) (plan.inodeStart() + Inode.ROOT / ipb);
    int rootOff = (int) (Inode.ROOT % ipb) * plan.layout().inodeSize();
    mark(mayVary[rootBlock], rootOff + 24, rootOff + 56); // created, modified, accessed, changed
    mark(mayVary[rootBlock], bs - 8, bs);
    for (int b = 0; b < blocks; b++) {
      for (int o = 0; o < bs; o++) {
        if (expected[b][o] == WILDCARD && !mayVary[b][o]) {
          errors.add(String.format("FORMAT.md line %d: block %d offset 0x%04x is a wildcard, but that byte is fixed "
              + "(0x%02x)", lineOf[b][o], b, o, image[b * bs + o] & 0xFF));
        }
      }
    }
    failIf(errors, "FORMAT.md uses wildcards for bytes that do not vary");

    for (int b = 0; b < blocks; b++) {
      for (int o = 0; o < bs; o++) {
        int want = expected[b][o];
        int got = image[b * bs + o] & 0xFF;
        if (want >= 0 && want != got) {
          errors.add(String.format("FORMAT.md line %d: block %d offset 0x%04x: document says %02x, volume has %02x",
              lineOf[b][o], b, o, want, got));
        }
      }
    }
    failIf(errors, "the example volume differs from FORMAT.md");
  }

  private static void mark(boolean[] a, int from, int to) {
    for (int i = from; i < to; i++) {
      a[i] = true;
    }
  }

  private static void parseDumps(int[][] expected, int[][] lineOf, int bs, List<String> errors) {
    int dumps = 0;
    for (int i = 0; i < doc.size(); i++) {
      String fence = doc.get(i).strip();
      if (!fence.startsWith("```hex")) {
        continue;
      }
      Matcher f = FENCE.matcher(fence);
      if (!f.matches()) {
        errors.add("line " + (i + 1) + ": hex fence without block=N or block=N..M: " + fence);
        continue;
      }
      dumps++;
      int first = Integer.parseInt(f.group(1));
      int last = f.group(2) == null ? first : Integer.parseInt(f.group(2));
      if (first > last || last >= expected.length) {
        errors.add("line " + (i + 1) + ": block range " + first + ".." + last + " outside the example's "
            + expected.length + " blocks");
        continue;
      }
      int j = i + 1;
      for (; j < doc.size() && !doc.get(j).strip().startsWith("```"); j++) {
        parseLine(doc.get(j), j + 1, first, last, expected, lineOf, bs, errors);
      }
      if (j == doc.size()) {
        errors.add("line " + (i + 1) + ": hex fence never closed");
      }
      i = j;
    }
    if (dumps == 0) {
      errors.add("no ```hex block=N fences found");
    }
  }

  private static void parseLine(String raw, int lineNo, int first, int last, int[][] expected, int[][] lineOf,
      int bs, List<String> errors) {
    int hash = raw.indexOf('#');
    String text = (hash >= 0 ? raw.substring(0, hash) : raw).strip();
    if (text.isEmpty()) {
      return;
    }
    Matcher m = LINE.matcher(text);
    if (!m.matches()) {
      errors.add("line " + lineNo + ": not 'OOOO: bytes' or 'OOOO..PPPP: byte': " + raw);
      return;
    }
    int from = Integer.parseInt(m.group(1), 16);
    String[] tokens = m.group(3).strip().isEmpty() ? new String[0] : m.group(3).strip().split("\\s+");
    List<int[]> cells = new ArrayList<>(); // {offset, value}
    if (m.group(2) != null) {
      int to = Integer.parseInt(m.group(2), 16);
      if (tokens.length != 1 || to < from) {
        errors.add("line " + lineNo + ": a range line needs OOOO <= PPPP and exactly one byte value: " + raw);
        return;
      }
      int v = value(tokens[0], lineNo, errors);
      for (int o = from; o <= to; o++) {
        cells.add(new int[] {o, v});
      }
    } else {
      if (tokens.length == 0) {
        errors.add("line " + lineNo + ": no bytes: " + raw);
        return;
      }
      for (int k = 0; k < tokens.length; k++) {
        cells.add(new int[] {from + k, value(tokens[k], lineNo, errors)});
      }
    }
    for (int b = first; b <= last; b++) {
      for (int[] c : cells) {
        if (c[0] >= bs) {
          errors.add("line " + lineNo + ": offset 0x" + Integer.toHexString(c[0]) + " is past the block");
          return;
        }
        if (expected[b][c[0]] != UNSET) {
          errors.add(String.format("line %d: block %d offset 0x%04x already described on line %d", lineNo, b, c[0],
              lineOf[b][c[0]]));
          return;
        }
        expected[b][c[0]] = c[1];
        lineOf[b][c[0]] = lineNo;
      }
    }
  }

  private static int value(String token, int lineNo, List<String> errors) {
    if (token.equalsIgnoreCase("xx")) {
      return WILDCARD;
    }
    if (!token.matches("[0-9a-fA-F]{2}")) {
      errors.add("line " + lineNo + ": '" + token + "' is neither two hex digits nor xx");
      return WILDCARD;
    }
    return Integer.parseInt(token, 16);
  }

  // ------------------------------------------------------------------------------------------------ tables

  @Test
  void blockTypeTable_listsEveryTypeTag_withItsStoredValue() {
    List<List<String>> rows = table("block-types");
    Set<String> seen = new TreeSet<>();
    for (List<String> r : rows) {
      String ascii = r.get(0);
      BlockType t = BlockType.fromTag(BlockType.tagOf(ascii));
      assertThat(t).as("block type %s in FORMAT.md", ascii).isNotNull();
      assertThat(r.get(1)).as("u32 value of %s", ascii).isEqualTo(String.format("0x%08x", t.tag()));
      seen.add(ascii);
    }
    Set<String> all = new TreeSet<>();
    for (BlockType t : BlockType.values()) {
      all.add(t.ascii());
    }
    assertThat(seen).as("block types listed in FORMAT.md").isEqualTo(all);
  }

  @Test
  void regionTagTable_matchesTheRegionDirectoryConstants() {
    List<List<String>> rows = table("region-tags");
    Set<Integer> seen = new TreeSet<>();
    for (List<String> r : rows) {
      int tag = BlockType.tagOf(r.get(0));
      assertThat(r.get(1)).as("u32 value of region tag %s", r.get(0)).isEqualTo(String.format("0x%08x", tag));
      seen.add(tag);
    }
    assertThat(seen).as("core region tags listed in FORMAT.md").isEqualTo(new TreeSet<>(List.of(
        RegionDirectory.TAG_BITMAP, RegionDirectory.TAG_WAL, RegionDirectory.TAG_CHECKPOINT,
        RegionDirectory.TAG_INODES, RegionDirectory.TAG_INODES_NEW, RegionDirectory.TAG_INODES_OLD)));
  }

  @Test
  void moduleTable_matchesTheRegistry() {
    List<List<String>> rows = table("modules");
    Set<Module> seen = EnumSet.noneOf(Module.class);
    for (List<String> r : rows) {
      Module m = Module.byId(Integer.parseInt(r.get(0)));
      assertThat(m).as("module id %s in FORMAT.md", r.get(0)).isNotNull();
      String regions = m.regions().isEmpty() ? "none" : m.regions().stream()
          .map(g -> g.tag() + " " + g.name() + (g.large() ? " (large)" : " (small)"))
          .collect(Collectors.joining(", "));
      assertThat(r.subList(1, 6)).as("row of module %d", m.id()).containsExactly(m.displayName(), m.abbreviation(),
          Integer.toString(m.inodeBytes()), m.featureClass().name(), regions);
      seen.add(m);
    }
    assertThat(seen).as("modules listed in FORMAT.md").isEqualTo(EnumSet.allOf(Module.class));
  }

  @Test
  void inodeSizeTable_matchesTheCanonicalLayouts() {
    List<List<String>> rows = table("inode-sizes");
    assertThat(rows).isNotEmpty();
    for (List<String> r : rows) {
      long manifest = 0;
      String modules = r.get(0);
      if (modules.equals("all 19")) {
        for (Module m : Module.values()) {
          manifest |= m.bit();
        }
      } else if (!modules.equals("none")) {
        for (String name : modules.split(",")) {
          manifest |= Module.byId(moduleIdOf(name.strip())).bit();
        }
      }
      InodeLayout l = InodeLayout.canonical(manifest);
      assertThat(r.subList(1, 3)).as("inode size row '%s'", modules)
          .containsExactly(Integer.toString(l.usedEnd()), Integer.toString(l.inodeSize()));
    }
  }

  private static int moduleIdOf(String name) {
    for (Module m : Module.values()) {
      if (m.displayName().equalsIgnoreCase(name) || m.abbreviation().equalsIgnoreCase(name)) {
        return m.id();
      }
    }
    throw new AssertionError("FORMAT.md names an unknown module: " + name);
  }

  /** The body rows of the table after {@code <!-- doc-test: name -->}, cells stripped of spaces and backticks. */
  private static List<List<String>> table(String name) {
    String marker = "<!-- doc-test: " + name + " -->";
    int i = 0;
    while (i < doc.size() && !doc.get(i).strip().equals(marker)) {
      i++;
    }
    if (i == doc.size()) {
      fail("FORMAT.md has no table marked " + marker);
    }
    i++;
    while (i < doc.size() && doc.get(i).isBlank()) {
      i++;
    }
    List<List<String>> rows = new ArrayList<>();
    int n = 0;
    for (; i < doc.size() && doc.get(i).strip().startsWith("|"); i++, n++) {
      if (n < 2) {
        continue; // header and separator
      }
      String line = doc.get(i).strip();
      String[] cells = line.substring(1, line.endsWith("|") ? line.length() - 1 : line.length()).split("\\|", -1);
      List<String> out = new ArrayList<>();
      for (String c : cells) {
        out.add(c.replace("`", "").strip());
      }
      rows.add(out);
    }
    assertThat(rows).as("rows of the table marked %s", marker).isNotEmpty();
    return rows;
  }

  private static void failIf(List<String> errors, String what) {
    if (!errors.isEmpty()) {
      int shown = Math.min(errors.size(), 25);
      fail(what + " (" + errors.size() + " problem(s)):\n  " + String.join("\n  ", errors.subList(0, shown))
          + (shown < errors.size() ? "\n  ..." : ""));
    }
  }
}
