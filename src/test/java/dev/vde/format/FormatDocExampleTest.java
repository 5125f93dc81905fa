package dev.vde.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.fs.Volume;
import dev.vde.inode.Extent;
import dev.vde.inode.Inode;
import dev.vde.inode.InodeCodec;
import dev.vde.testing.PowerLossDevice;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
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

  /**
   * Section 5's table, row by row: a superblock with a distinct value in every field is encoded by the engine, and
   * each row's offset and type must find that field's value there. Every field the engine writes must have a row.
   */
  @Test
  void superblockTable_givesTheOffsetAndWidthOfEveryField() {
    InodeLayout layout = InodeLayout.canonical(Module.TAGS.bit());
    Superblock sb = new Superblock(1, 0x0302, 4096, layout.inodeSize(), 0x0605040302L,
        new UUID(0x1112131415161718L, 0x2122232425262728L), 0x3132333435363738L, 0x4142434445464748L, 0x51L,
        0x6162L, 0x7172L, 0x8182L, 0x9192L, 0xa1a2L, 0xb1b2L, 0xc1c2L, 0xd1d2L, 0xe1L, 0xf1f2f3f4, 0x0111L,
        0x0212L, 0x0313L, 0x0414L, 0x0515L, "label ü", layout);
    byte[] b = sb.write();
    Map<String, Long> expected = new LinkedHashMap<>();
    expected.put("magic", (long) Superblock.MAGIC);
    expected.put("formatMajor", 1L);
    expected.put("formatMinor", 0x0302L);
    expected.put("blockSize", 4096L);
    expected.put("inodeSize", (long) layout.inodeSize());
    expected.put("totalBlocks", sb.totalBlocks());
    expected.put("uuid", sb.uuid().getMostSignificantBits());
    expected.put("createdMillis", sb.createdMillis());
    expected.put("modifiedMillis", sb.modifiedMillis());
    expected.put("sequence", sb.sequence());
    expected.put("compat", sb.compat());
    expected.put("roCompat", sb.roCompat());
    expected.put("incompat", sb.incompat());
    expected.put("moduleManifest", sb.moduleManifest());
    expected.put("moduleConfig", sb.moduleConfig());
    expected.put("inodeCount", sb.inodeCount());
    expected.put("inodesUsed", sb.inodesUsed());
    expected.put("freeBlocks", sb.freeBlocks());
    expected.put("regionDirStart", sb.regionDirStart());
    expected.put("regionDirBlocks", Integer.toUnsignedLong(sb.regionDirBlocks()));
    expected.put("reserved", 0L);
    expected.put("walStart", sb.walStart());
    expected.put("walBlocks", sb.walBlocks());
    expected.put("checkpointTxId", sb.checkpointTxId());
    expected.put("walSalt", sb.walSalt());
    expected.put("inodeTableInitBlocks", sb.inodeTableInitBlocks());
    List<String> errors = new ArrayList<>();
    Set<String> seen = new TreeSet<>();
    for (List<String> r : table("superblock")) {
      String field = r.get(2);
      if (r.get(0).equals("…")) {
        continue;
      }
      seen.add(field);
      if (field.equals("trailer")) {
        check(errors, field, r.get(0).equals("blockSize−16") && Bytes.i32(b, 4096 - 16) == BlockType.SUPERBLOCK.tag()
            && Bytes.i32(b, 4096 - 12) == (int) sb.sequence());
        continue;
      }
      int off = Integer.parseInt(r.get(0));
      if (field.equals("uuid")) {
        check(errors, field, r.get(1).equals("16 bytes") && Bytes.i64(b, off) == sb.uuid().getMostSignificantBits()
            && Bytes.i64(b, off + 8) == sb.uuid().getLeastSignificantBits());
      } else if (field.equals("label")) {
        byte[] lab = sb.label().getBytes(StandardCharsets.UTF_8);
        check(errors, field, r.get(1).equals("64 bytes") && Bytes.isZero(b, off + lab.length, 64 - lab.length)
            && new String(b, off, lab.length, StandardCharsets.UTF_8).equals(sb.label()));
      } else if (field.equals("layout")) {
        // Tags: one field, so 8 + 8 bytes; the descriptor's own table is section 10's.
        check(errors, field, off == Superblock.LAYOUT_OFFSET && Bytes.u16(b, off) == InodeLayout.CORE_SIZE
            && Bytes.u16(b, off + 2) == 1 && Bytes.u16(b, off + 10) == 304 && Bytes.u16(b, off + 12) == 136
            && Bytes.isZero(b, off + 16, 4096 - 16 - off - 16));
      } else if (expected.containsKey(field)) {
        check(errors, field + " at " + off, expected.get(field) == readAs(b, off, r.get(1)));
      } else {
        errors.add("row for unknown field " + field);
      }
    }
    Set<String> all = new TreeSet<>(expected.keySet());
    all.addAll(List.of("uuid", "label", "layout", "trailer"));
    assertThat(seen).as("fields in the superblock table").isEqualTo(all);
    failIf(errors, "the superblock table of FORMAT.md section 5 disagrees with Superblock.write");
  }

  /**
   * Section 9's inode core table, row by row, against {@link InodeCodec#write}: an inode with a distinct value in
   * every field (and nine extents, so that eight are inline and the count says nine).
   */
  @Test
  void inodeCoreTable_givesTheOffsetAndWidthOfEveryField() {
    InodeLayout layout = InodeLayout.canonical(Module.TAGS.bit());
    List<Extent> xs = new ArrayList<>();
    for (int k = 0; k < 9; k++) {
      xs.add(new Extent(0x100L * k + 1, 0x200000L + 0x10 * k, 3 + k));
    }
    byte[] area = new byte[layout.inodeSize() - InodeLayout.CORE_SIZE];
    for (int i = 0; i < 136; i++) {
      area[i] = (byte) (i + 1);
    }
    Inode ino = new Inode(0x01020304L, Inode.TYPE_FILE, 0, 0644, 0x0a0b0c0dL, 0x1112131415161718L,
        0x2122232425262728L, 0x3132333435363738L, 0x4142434445464748L, 0x5152535455565758L, 0x61626364L,
        0x71727374L, 0x81828384L, xs, area);
    byte[] b = new byte[layout.inodeSize()];
    InodeCodec.write(b, 0, ino, layout);
    Map<String, Long> expected = new LinkedHashMap<>();
    expected.put("number", ino.number());
    expected.put("type", (long) ino.type());
    expected.put("flags", 0L);
    expected.put("permissions", 0644L);
    expected.put("linkCount", ino.linkCount());
    expected.put("extentCount", 9L);
    expected.put("size", ino.size());
    expected.put("created", ino.created());
    expected.put("modified", ino.modified());
    expected.put("accessed", ino.accessed());
    expected.put("changed", ino.changed());
    expected.put("indirectBlock", ino.indirectBlock());
    expected.put("generation", ino.generation());
    expected.put("parent", ino.parent());
    List<String> errors = new ArrayList<>();
    Set<String> seen = new TreeSet<>();
    for (List<String> r : table("inode-core")) {
      String field = r.get(2);
      int off = Integer.parseInt(r.get(0));
      seen.add(field + "@" + off);
      switch (field) {
        case "reserved" -> {
          int len = Integer.parseInt(r.get(1).replace("bytes", "").strip());
          check(errors, "reserved at " + off, Bytes.isZero(b, off, len));
        }
        case "extents" -> {
          boolean ok = r.get(1).equals("8×24bytes") || r.get(1).equals("8 × 24 bytes");
          for (int k = 0; k < 8; k++) {
            Extent e = xs.get(k);
            int o = off + 24 * k;
            ok &= Bytes.i64(b, o) == e.logical() && Bytes.i64(b, o + 8) == e.start() && Bytes.i32(b, o + 16) == e.count()
                && Bytes.isZero(b, o + 20, 4);
          }
          check(errors, "extents", ok);
        }
        case "module area" -> check(errors, "module area", off == InodeLayout.CORE_SIZE
            && java.util.Arrays.equals(b, off, off + 136, area, 0, 136));
        default -> {
          if (expected.containsKey(field)) {
            check(errors, field + " at " + off, expected.get(field) == readAs(b, off, r.get(1)));
          } else {
            errors.add("row for unknown field " + field);
          }
        }
      }
    }
    Set<String> all = new TreeSet<>();
    for (String f : expected.keySet()) {
      all.add(f);
    }
    Set<String> names = new TreeSet<>();
    for (String s : seen) {
      names.add(s.substring(0, s.indexOf('@')));
    }
    assertThat(names).as("fields in the inode core table").containsAll(all).contains("extents", "module area");
    assertThat(seen).as("reserved rows").contains("reserved@72", "reserved@272");
    failIf(errors, "the inode core table of FORMAT.md section 9 disagrees with InodeCodec.write");
  }

  /** The little-endian unsigned value of a table's type ({@code u8} to {@code u64}) at {@code off}. */
  private static long readAs(byte[] b, int off, String type) {
    return switch (type) {
      case "u8" -> Bytes.u8(b, off);
      case "u16" -> Bytes.u16(b, off);
      case "u32" -> Bytes.u32(b, off);
      case "u64" -> Bytes.i64(b, off);
      default -> throw new AssertionError("type " + type);
    };
  }

  private static void check(List<String> errors, String what, boolean ok) {
    if (!ok) {
      errors.add(what);
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
