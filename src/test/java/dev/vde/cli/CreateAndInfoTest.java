package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CreateAndInfoTest {
  @TempDir
  Path tmp;

  @Test
  void createThenInfoAsJson() {
    Path image = tmp.resolve("a.vde");
    Cli.Result created = Cli.run("create", image, "--size", "16M", "--label", "photos").ok();
    assertThat(created.stdout()).contains("created").contains(image.toString());

    JsonNode info = Cli.run("info", image, "--json").ok().json();
    assertThat(info.get("formatVersion").asText()).matches("\\d+\\.\\d+");
    assertThat(info.get("blockSize").asInt()).isEqualTo(4096);
    assertThat(info.get("totalBlocks").asLong() * 4096).isEqualTo(16L << 20);
    assertThat(info.get("freeBlocks").asLong()).isPositive().isLessThan(info.get("totalBlocks").asLong());
    assertThat(info.get("inodeSize").asInt()).isPositive();
    assertThat(info.get("inodeCount").asLong()).isPositive();
    assertThat(info.get("inodesUsed").asLong()).isPositive();
    assertThat(info.get("modules").isArray()).isTrue();
    assertThat(info.get("modules")).isEmpty();
    assertThat(info.has("migration")).isTrue();
    assertThat(info.get("migration").isNull()).isTrue();
    assertThat(info.get("label").asText()).isEqualTo("photos");
    assertThat(info.get("uuid").asText()).matches("[0-9a-f-]{36}");
    assertThat(info.get("paddingBytes").isIntegralNumber()).isTrue();
    assertThat(info.get("readOnlyReason").isNull()).as("a healthy image is writable").isTrue();
    assertThat(info.get("warnings").isArray()).isTrue();

    List<String> types = new ArrayList<>();
    for (JsonNode region : info.get("regions")) {
      assertThat(region.get("type").asText()).hasSize(4);
      assertThat(region.get("start").asLong()).isNotNegative();
      assertThat(region.get("blocks").asLong()).isPositive();
      types.add(region.get("type").asText());
    }
    assertThat(types).isNotEmpty();
  }

  @Test
  void preallocateGivesTheHostFileAllItsBlocksAndStaysAValidVolume() throws Exception {
    Path sparse = tmp.resolve("sparse.vde");
    Path full = tmp.resolve("full.vde");
    Cli.run("create", sparse, "--size", "32M").ok();
    Cli.run("create", full, "--size", "32M", "--preallocate").ok();
    assertThat(allocatedBytes(sparse)).as("default: sparse").isLessThan(8L << 20);
    assertThat(allocatedBytes(full)).as("--preallocate: no holes").isGreaterThanOrEqualTo(32L << 20);
    Path host = tmp.resolve("in.bin");
    Files.write(host, new byte[100_000]);
    Cli.run("put", full, host, "/f").ok();
    Cli.run("fsck", full).ok();
    assertThat(Cli.run("ls", full, "/f", "--json").ok().json().toString()).contains("100000");
  }

  private static long allocatedBytes(Path file) throws Exception {
    Process p = new ProcessBuilder("stat", "--format=%b", file.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
    assertThat(p.waitFor()).as("stat: " + out).isZero();
    return Long.parseLong(out) * 512;
  }

  @Test
  void createHonoursBlockSizeInodesAndModulesInAnyCase() {
    Path image = tmp.resolve("m.vde");
    Cli.run("create", image, "--size", "32MiB", "--block-size", "8K", "--inodes", "1000",
        "--modules", "tags,sec,Compression").ok();
    JsonNode info = Cli.run("info", image, "--json").ok().json();
    assertThat(info.get("blockSize").asInt()).isEqualTo(8192);
    assertThat(info.get("inodeCount").asLong()).isEqualTo(1000);
    List<String> modules = new ArrayList<>();
    info.get("modules").forEach(m -> modules.add(m.asText()));
    assertThat(modules).containsExactlyInAnyOrder("TAGS", "SEC", "CMPR");
    List<String> regionTypes = new ArrayList<>();
    info.get("regions").forEach(r -> regionTypes.add(r.get("type").asText()));
    assertThat(regionTypes).contains("TIDX", "PVLT", "DICT");
  }

  @Test
  void textInfoIsAnAlignedSummary() {
    Path image = tmp.resolve("t.vde");
    Cli.run("create", image, "--size", "8M", "--modules", "TAGS").ok();
    String text = Cli.run("info", image).ok().stdout();
    assertThat(text).contains("Format", "Capacity", "Free", "Inodes", "Modules", "Tags (TAGS)", "Regions",
        "read-write");
    // Every value of the summary starts in the same column.
    Pattern keyThenBlanks = Pattern.compile("^\\S+\\s+");
    List<Integer> valueColumns = text.lines().takeWhile(l -> !l.isBlank())
        .map(l -> keyThenBlanks.matcher(l)).filter(Matcher::find).map(Matcher::end).distinct().toList();
    assertThat(valueColumns).hasSize(1);
  }

  @Test
  void infoOfAHostFileWeMayNotWriteSaysSo() throws Exception {
    Path image = tmp.resolve("ro.vde");
    Cli.run("create", image, "--size", "8M").ok();
    Files.setPosixFilePermissions(image, PosixFilePermissions.fromString("r--r--r--"));
    assumeFalse(Files.isWritable(image), "permissions do not bind this user (root)");
    assertThat(Cli.run("info", image, "--json").ok().json().get("readOnlyReason").asText()).contains("not writable");
    assertThat(Cli.run("mkdir", image, "/d").failsWith(ExitCodes.FAILED).stderr()).contains("read-only");
  }

  /**
   * A bitmap that marks metadata free makes every writable open read-only (the next file would be placed over the
   * metadata). {@code info} opens read-only itself and puts what a writable open would meet in place of its own
   * "on request": that must be this reason, not "read-write".
   */
  @Test
  void infoOfAVolumeWhoseBitmapMarksMetadataFree_saysItOpensReadOnly() throws Exception {
    Path image = tmp.resolve("unmarked.vde");
    Cli.run("create", image, "--size", "8M").ok();
    JsonNode before = Cli.run("info", image, "--json").ok().json();
    long bitmapStart = -1;
    long tableStart = -1;
    for (JsonNode r : before.get("regions")) {
      if (r.get("type").asText().equals("BMAP")) {
        bitmapStart = r.get("start").asLong();
      } else if (r.get("type").asText().equals("INOD")) {
        tableStart = r.get("start").asLong();
      }
    }
    byte[] bytes = Files.readAllBytes(image);
    byte[] bitmap = java.util.Arrays.copyOfRange(bytes, (int) bitmapStart * 4096, (int) bitmapStart * 4096 + 4096);
    bitmap[(int) (tableStart / 8)] &= (byte) ~(1 << (tableStart % 8));
    dev.vde.format.BlockCodec.seal(bitmap, dev.vde.format.BlockType.BITMAP, 0);
    System.arraycopy(bitmap, 0, bytes, (int) bitmapStart * 4096, 4096);
    Files.write(image, bytes);

    String writable = Cli.run("mkdir", image, "/d").failsWith(ExitCodes.FAILED).stderr();
    assertThat(writable).contains("read-only").contains("marks blocks");
    JsonNode info = Cli.run("info", image, "--json").ok().json();
    assertThat(info.get("readOnlyReason").isNull()).as("a writable open is read-only").isFalse();
    assertThat(info.get("readOnlyReason").asText()).contains("marks blocks");
    assertThat(Cli.run("info", image).ok().stdout()).contains("read-only:").doesNotContain("read-write");
  }

  /**
   * The README's {@code vde info --json} example is the volume of its own walk-through (256 MiB, labelled photos)
   * with the Tags module and one file: it showed Tags active on 320-byte inodes with 16 bytes of padding (Tags
   * needs 136 bytes, so such a volume has 448-byte inodes and 8 bytes of padding), a bitmap and a WAL of another
   * size than such a volume has, and no MCHK, INOD or TIDX region, which every such volume lists.
   */
  @Test
  void theReadmesInfoJsonExample_isWhatInfoShowsForTheVolumeItDescribes() throws Exception {
    Path readme = Path.of("README.md");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(readme), "run from the repository root");
    Matcher m = Pattern.compile("`vde info --json` — one object:\\s*```json\\n(.*?)```", Pattern.DOTALL)
        .matcher(Files.readString(readme));
    assertThat(m.find()).as("the README's example").isTrue();
    JsonNode example = Cli.parse(m.group(1));
    Path image = tmp.resolve("photos.vde");
    Cli.run("create", image, "--size", "256M", "--label", "photos", "--modules", "tags").ok();
    Path cat = Files.write(tmp.resolve("cat.jpg"), new byte[48213]);
    Cli.run("put", image, cat, "/2024/cat.jpg").ok();
    JsonNode info = Cli.run("info", image, "--json").ok().json();

    List<String> exampleKeys = new ArrayList<>();
    example.fieldNames().forEachRemaining(exampleKeys::add);
    List<String> keys = new ArrayList<>();
    info.fieldNames().forEachRemaining(keys::add);
    assertThat(exampleKeys).as("keys, in order").isEqualTo(keys);
    for (String k : List.of("formatVersion", "label", "blockSize", "totalBlocks", "freeBlocks", "inodeSize",
        "inodeCount", "inodesUsed", "paddingBytes", "modules", "regions", "migration", "readOnlyReason",
        "warnings")) {
      assertThat(example.get(k)).as(k).isEqualTo(info.get(k));
    }
  }

  /**
   * Text output escapes control characters, error lines and tables included; the warnings of {@code info} did not,
   * and a warning about a damaged block names the image, so for an image whose name holds a line break it went on
   * on a line of its own, which read as another entry of the list.
   */
  @Test
  void infoWarnings_escapeTheImageNameAsTheRestOfItsTextDoes() throws Exception {
    Path image = tmp.resolve("two\nlines.vde");
    Cli.run("create", image, "--size", "8M").ok();
    long bitmapStart = Cli.run("info", image, "--json").ok().json().get("regions").get(0).get("start").asLong();
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(image,
        java.nio.file.StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(new byte[] {0x5a}), bitmapStart * 4096 + 100);
    }
    assertThat(Cli.run("info", image, "--json").ok().json().get("warnings").get(0).asText())
        .as("--json gives the exact text").contains("two\nlines.vde");
    String text = Cli.run("info", image).ok().stdout();
    List<String> after = text.lines().dropWhile(l -> !l.equals("Warnings")).skip(1).toList();
    assertThat(after).isNotEmpty().allSatisfy(l -> assertThat(l).startsWith("  - "));
    assertThat(text).contains("two\\nlines.vde");
  }

  /**
   * A read-only open takes the blocks an unreadable bitmap block covers as allocated, and says so ("the free space
   * shown may be too low"). It also warned that the superblock's free count "differs from the bitmap's", which
   * blamed the superblock's count, most likely right, for the stand-in's guess.
   */
  @Test
  void infoOfAnUnreadableBitmapBlock_doesNotBlameTheSuperblocksFreeCount() throws Exception {
    Path image = tmp.resolve("bitmap.vde");
    Cli.run("create", image, "--size", "8M").ok();
    long bitmapStart = Cli.run("info", image, "--json").ok().json().get("regions").get(0).get("start").asLong();
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(image,
        java.nio.file.StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(new byte[] {0x5a}), bitmapStart * 4096 + 100);
    }
    JsonNode warnings = Cli.run("info", image, "--json").ok().json().get("warnings");
    assertThat(warnings.toString()).contains("taken as allocated").doesNotContain("free count");
  }

  @Test
  void createNeverOverwritesAnExistingFile() throws Exception {
    Path image = tmp.resolve("keep.vde");
    Files.writeString(image, "precious");
    String before = Cli.sha256(image);
    assertThat(Cli.run("create", image, "--size", "8M").failsWith(ExitCodes.FAILED).stderr())
        .contains("already exists");
    assertThat(Cli.sha256(image)).isEqualTo(before);
  }

  // A symbolic link to a missing file did not count as existing: the engine refused to create through it (or found
  // the size too small), and the clean-up after that failure deleted the user's link.
  @Test
  void createRefusesALinkToAMissingFileAndKeepsTheLink() throws Exception {
    Path link = tmp.resolve("link.vde");
    Files.createSymbolicLink(link, tmp.resolve("missing.vde"));
    for (String size : new String[] {"8M", "4K"}) {
      String err = Cli.run("create", link, "--size", size).failsWith(ExitCodes.FAILED).stderr();
      assertThat(err).as("--size %s", size).contains(link.toString()).contains("symbolic link");
      assertThat(Files.isSymbolicLink(link)).as("link after --size %s", size).isTrue();
      assertThat(tmp.resolve("missing.vde")).doesNotExist();
    }
  }

  @Test
  void unknownModuleFailsListingTheValidOnesAndCreatesNothing() {
    Path image = tmp.resolve("u.vde");
    String err = Cli.run("create", image, "--size", "8M", "--modules", "tags,warpdrive")
        .failsWith(ExitCodes.FAILED).stderr();
    assertThat(err).contains("warpdrive").contains("Security (SEC)").contains("Tags (TAGS)");
    assertThat(Files.exists(image)).isFalse();
  }

  // "--modules ," created a volume without modules and said nothing: empty names were skipped, and picocli's
  // split dropped those at the end before they were seen.
  @Test
  void emptyModuleNamesAreAUsageErrorAndCreateNothing() {
    Path image = tmp.resolve("empty-names.vde");
    for (String names : new String[] {",", "", " ", "tags,,", ",tags", "tags,,sec", "tags,"}) {
      String err = Cli.run("create", image, "--size", "8M", "--modules", names).failsWith(ExitCodes.USAGE)
          .stderr();
      assertThat(err).as("--modules '%s'", names).contains("--modules '" + names + "'")
          .contains("empty module name");
      assertThat(Files.exists(image)).as("after --modules '%s'", names).isFalse();
    }
    Path source = tmp.resolve("source.vde");
    Cli.run("create", source, "--size", "8M", "--modules", "tags", "--modules", "sec").ok();
    String err = Cli.run("copy", source, tmp.resolve("dest.vde"), "--add-module", "tags,").failsWith(ExitCodes.USAGE)
        .stderr();
    assertThat(err).contains("--add-module 'tags,'").contains("empty module name");
    assertThat(Files.exists(tmp.resolve("dest.vde"))).isFalse();
    assertThat(Cli.run("module", "add", source, "intg,,").failsWith(ExitCodes.USAGE).stderr())
        .contains("MODULE 'intg,,'").contains("empty module name");
  }

  @Test
  void sizeTooSmallFailsClearlyAndLeavesNoFile() {
    Path image = tmp.resolve("small.vde");
    String err = Cli.run("create", image, "--size", "4K").failsWith(ExitCodes.FAILED).stderr();
    assertThat(err).contains("too small");
    assertThat(Files.exists(image)).isFalse();
  }

  @Test
  void badBlockSizeFailsAndLeavesNoFile() {
    Path image = tmp.resolve("bs.vde");
    assertThat(Cli.run("create", image, "--size", "8M", "--block-size", "1000").failsWith(ExitCodes.FAILED)
        .stderr()).contains("block size");
    assertThat(Files.exists(image)).isFalse();
  }

  @Test
  void negativeInodeCountIsAUsageError() {
    Cli.run("create", tmp.resolve("n.vde"), "--size", "8M", "--inodes", "-1").failsWith(ExitCodes.USAGE);
  }
}
