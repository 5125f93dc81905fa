package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vde module}, {@code vde tag} and {@code vde migrate}, in-process. */
class ModuleCommandsTest {
  @TempDir
  Path dir;

  private Path image(String size, int inodes) throws Exception {
    Path img = dir.resolve("m.vde");
    Cli.run("create", img, "--size", size, "--inodes", inodes).ok();
    Path host = dir.resolve("host.txt");
    Files.writeString(host, "hello");
    Cli.run("put", img, host, "/docs/a.txt").ok();
    return img;
  }

  @Test
  void list_showsEveryModuleAndWhatFits() throws Exception {
    Path img = image("16M", 256);
    JsonNode j = Cli.run("module", "list", img, "--json").ok().json();
    assertThat(j.get("paddingBytes").asInt()).isEqualTo(16);
    assertThat(j.get("modules")).hasSize(19);
    JsonNode tags = j.get("modules").get(3);
    assertThat(tags.get("abbreviation").asText()).isEqualTo("TAGS");
    assertThat(tags.get("fitsInPadding").asBoolean()).isFalse();
    assertThat(j.get("modules").get(16).get("fitsInPadding").asBoolean()).as("Transit").isTrue();
    assertThat(Cli.run("module", "list", img).ok().stdout()).contains("Transit").contains("TRNS");
  }

  @Test
  void analyze_endsWithTheCommandForThisImage_quotedWhenItNeedsIt() throws Exception {
    Path img = image("16M", 256);
    assertThat(Cli.run("module", "analyze", img, "transit").ok().stdout())
        .contains("Run it with 'vde module add " + img + " trns'.");
    Path spaced = dir.resolve("my \"disk\" $1.vde");
    Files.move(img, spaced);
    assertThat(Cli.run("module", "analyze", spaced, "tags").ok().stdout())
        .contains("Run it with 'vde module add \"" + dir + "/my \\\"disk\\\" \\$1.vde\" tags");
  }

  /**
   * An image whose name starts with '-' (reached with {@code vde module analyze -- -x.vde raid}): the command the
   * analysis ended with, {@code vde module add -x.vde raid}, took the name for an option and failed with "Missing
   * required parameter: 'MODULE'". It must name the file so that vde reads it as one.
   */
  @Test
  void analyze_ofAnImageWhoseNameStartsWithADash_namesItSoThatTheCommandWorks() throws Exception {
    Path img = image("16M", 256);
    assertThat(ShellWord.of("-x.vde")).isEqualTo("./-x.vde");
    assertThat(ShellWord.of("-my disk.vde")).isEqualTo("\"./-my disk.vde\"");
    try (VirtualDisk d = VirtualDisk.open(img,
        dev.vde.fs.OpenOptions.readOnlyOptions())) {
      List<String> lines = ModuleAnalyzeCommand.render(dev.vde.module.ModulePlanner.analyze(d,
          List.of(dev.vde.format.Module.RAID)), Path.of("-x.vde"));
      assertThat(lines.get(lines.size() - 1)).endsWith("Run it with 'vde module add ./-x.vde raid'.");
    }
    // What the command line makes of the word: the image (missing here), not an option.
    assertThat(Cli.run("module", "add", "./-x-does-not-exist.vde", "raid").failsWith(ExitCodes.FAILED).stderr())
        .contains("no such file");
  }

  @Test
  void analyze_alwaysReportsFourOptionsAndRecommendsTheCheapest() throws Exception {
    Path img = image("16M", 256);
    JsonNode pad = Cli.run("module", "analyze", img, "transit", "--json").ok().json();
    assertThat(pad.get("options")).hasSize(4);
    assertThat(pad.get("recommended").asText()).isEqualTo("padding");
    List<String> keys = new ArrayList<>();
    pad.get("options").get(0).fieldNames().forEachRemaining(keys::add);
    assertThat(keys).contains("option", "feasible", "reason", "blocksRead", "blocksWritten", "estimatedSeconds",
        "downtime", "risk", "recommended");
    assertThat(Cli.run("module", "analyze", img, "INTG", "--json").ok().json().get("recommended").asText())
        .isEqualTo("region");
    assertThat(Cli.run("module", "analyze", img, "tags", "--json").ok().json().get("recommended").asText())
        .isEqualTo("migrate");
    String table = Cli.run("module", "analyze", img, "tags").ok().stdout();
    assertThat(table).contains("OPTION").contains("<- recommended").contains("Recommended: migrate");
  }

  @Test
  void add_withEachOptionAndDryRunWritesNothing() throws Exception {
    Path img = image("16M", 256);
    String before = Cli.sha256(img);
    Cli.run("module", "add", img, "tags", "--dry-run").ok();
    assertThat(Cli.sha256(img)).isEqualTo(before);
    Cli.run("module", "add", img, "transit", "--option", "padding").ok();
    Cli.run("module", "add", img, "integrity", "--option", "region").ok();
    Cli.run("module", "add", img, "tags", "--option", "migrate", "--checkpoint-every", "16").ok();
    JsonNode info = Cli.run("info", img, "--json").ok().json();
    List<String> modules = new ArrayList<>();
    info.get("modules").forEach(m -> modules.add(m.asText()));
    assertThat(modules).containsExactly("TAGS", "INTG", "TRNS");
    assertThat(info.get("inodeSize").asInt()).isEqualTo(448);
    assertThat(info.get("migration").isNull()).isTrue();
    assertThat(Cli.run("fsck", img, "--json").ok().json().get("clean").asBoolean()).isTrue();
    assertThat(Cli.run("get", img, "/docs/a.txt", "-").ok().stdout()).isEqualTo("hello");
  }

  @Test
  void add_refusalsAreOneLineExit3AndChangeNothing() throws Exception {
    Path img = image("16M", 256);
    Cli.run("module", "add", img, "transit").ok();
    String before = Cli.sha256(img);
    assertThat(Cli.run("module", "add", img, "transit").failsWith(3).stderr()).contains("already active");
    assertThat(Cli.run("module", "add", img, "tags", "--option", "padding").failsWith(3).stderr())
        .contains("padding");
    assertThat(Cli.run("module", "add", img, "nosuch").failsWith(3).stderr()).contains("Tags (TAGS)");
    assertThat(Cli.run("module", "add", img, "tags", "--option", "sideways").failsWith(1).stderr())
        .contains("--option");
    assertThat(Cli.run("module", "add", img, "tags", "--option", "copy").failsWith(1).stderr()).contains("--to");
    Path dest = dir.resolve("never.vde");
    assertThat(Cli.run("module", "add", img, "raid", "--option", "padding", "--to", dest).failsWith(1).stderr())
        .contains("--to goes with --option copy");
    assertThat(Cli.run("module", "add", img, "raid", "--force").failsWith(1).stderr()).contains("--force");
    assertThat(Cli.sha256(img)).isEqualTo(before);
    assertThat(dest).doesNotExist();
  }

  @Test
  void add_withADestinationCopies_andLeavesTheImageAlone() throws Exception {
    Path img = image("16M", 256);
    String before = Cli.sha256(img);
    Path dest = dir.resolve("with-raid.vde");
    // RAID would fit in the padding, but --to asks for a new volume: the image itself is only read.
    Cli.run("module", "add", img, "raid", "--to", dest, "--progress", "none").ok();
    assertThat(Cli.sha256(img)).isEqualTo(before);
    assertThat(Cli.run("info", dest, "--json").ok().json().get("modules").toString()).contains("RAID");
  }

  /**
   * A copy with no file data to move has no ratio to claim: the summary divides by at least one block, so it
   * claimed "256.0x less than a naive copy" for a block it never copied. 'vde copy' says so instead since defect
   * 125; adding a module by a copy is the same copy and must too.
   */
  @Test
  void add_byACopyOfAVolumeWithNoFileData_saysSoInsteadOfARatio() throws Exception {
    Path img = dir.resolve("empty.vde");
    Cli.run("create", img, "--size", "1M").ok();
    String out = Cli.run("module", "add", img, "tags", "--to", dir.resolve("with-tags.vde"), "--progress", "none")
        .ok().stdout();
    assertThat(out).contains("Copied to").contains("no file data to copy").doesNotContain("less than a naive copy");
  }

  // The checks of DEST are those of 'vde copy': each message names DEST (not the image, which the command also
  // names) and the option that would get past it.
  @Test
  void add_withADestinationThatCannotBeWritten_namesItAndTheOption() throws Exception {
    Path img = image("16M", 256);
    Path taken = Files.writeString(dir.resolve("taken.vde"), "keep me");
    assertThat(Cli.run("module", "add", img, "raid", "--to", taken).failsWith(3).stderr())
        .contains(taken + ": already exists").contains("--force").doesNotContain("(" + img + ")");
    assertThat(Cli.run("module", "add", img, "raid", "--to", dir.resolve("no/such.vde")).failsWith(3).stderr())
        .contains(dir.resolve("no") + ": no such directory").doesNotContain("(" + img + ")");
    assertThat(Cli.run("module", "add", img, "raid", "--to", img, "--force").failsWith(3).stderr())
        .contains(img + ": is the source image").doesNotContain("(" + img + ")");
    assertThat(taken).hasContent("keep me");
  }

  @Test
  void tags_roundTripThroughTheCli() throws Exception {
    Path img = image("16M", 256);
    assertThat(Cli.run("tag", "set", img, "/docs/a.txt", "k=v").failsWith(3).stderr())
        .contains("vde module add IMAGE tags");
    Cli.run("module", "add", img, "tags").ok();
    Cli.run("tag", "set", img, "/docs/a.txt", "color=blue").ok();
    Cli.run("tag", "set", img, "/docs/a.txt", "owner=ops").ok();
    assertThat(Cli.run("tag", "get", img, "/docs/a.txt", "color").ok().stdout().trim()).isEqualTo("blue");
    JsonNode ls = Cli.run("tag", "ls", img, "/docs/a.txt", "--json").ok().json();
    assertThat(ls.get("owner").asText()).isEqualTo("ops");
    Cli.run("tag", "rm", img, "/docs/a.txt", "owner").ok();
    Cli.run("tag", "rm", img, "/docs/a.txt", "owner").failsWith(3);
    Cli.run("tag", "get", img, "/docs/a.txt", "owner").failsWith(3);
    Cli.run("tag", "set", img, "/docs/a.txt", "novalue").failsWith(1);
    assertThat(Cli.run("tag", "set", img, "/docs/a.txt", "big=" + "x".repeat(200)).failsWith(3).stderr())
        .contains("136");
  }

  // 'tag set IMAGE F =v' is a usage error (exit 1); an empty KEY to get or rm was passed on and refused as a failed
  // operation (exit 3).
  @Test
  void tagGetAndRm_ofAnEmptyKey_areUsageErrors_asSetOfOneIs() throws Exception {
    Path img = image("16M", 256);
    Cli.run("module", "add", img, "tags").ok();
    Cli.run("tag", "set", img, "/docs/a.txt", "=v").failsWith(1);
    String before = Cli.sha256(img);
    assertThat(Cli.run("tag", "get", img, "/docs/a.txt", "").failsWith(1).stderr()).contains("KEY is empty");
    assertThat(Cli.run("tag", "rm", img, "/docs/a.txt", "").failsWith(1).stderr()).contains("KEY is empty");
    assertThat(Cli.sha256(img)).isEqualTo(before);
  }

  // A failed 'tag rm' rewrote the inode anyway (a new change time) and so changed the image it reported unchanged.
  @Test
  void tagRm_ofAKeyThatIsNotSet_leavesTheImageAlone() throws Exception {
    Path img = image("16M", 256);
    Cli.run("module", "add", img, "tags").ok();
    Cli.run("tag", "set", img, "/docs/a.txt", "color=blue").ok();
    String before = Cli.sha256(img);
    assertThat(Cli.run("tag", "rm", img, "/docs/a.txt", "owner").failsWith(3).stderr()).contains("no tag 'owner'");
    assertThat(Cli.sha256(img)).isEqualTo(before);
  }

  @Test
  void migrate_thatMeetsADamagedInodeBlock_rollsBackAndSaysSo() throws Exception {
    Path img = dir.resolve("damaged.vde");
    long victim;
    try (VirtualDisk d = withTinyFiles(img, 16L << 20, 2000, 1500)) {
      victim = d.volume().regions().find(dev.vde.format.RegionDirectory.TAG_INODES).start() + 100;
    }
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(img,
        java.nio.file.StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(new byte[] {0x5a}), victim * 4096 + 10);
    }
    String err = Cli.run("module", "add", img, "tags", "--option", "migrate", "--checkpoint-every", "100",
        "--progress", "none").failsWith(3).stderr();
    assertThat(err).contains("block " + String.format("%,d", victim)).contains("rolled back");
    assertThat(Cli.run("migrate", "status", img, "--json").ok().stdout().trim()).isEqualTo("null");
    assertThat(Cli.run("info", img, "--json").ok().json().get("modules").size()).isZero();
  }

  /**
   * The commands a failed migration names ("'vde fsck IMAGE' shows the damage", "'vde migrate resume IMAGE'
   * continues it") wrote the image as it is, so for a name with a space the command pasted into a shell named two
   * files. They quote it as the analysis does.
   */
  @Test
  void migrate_thatFails_namesTheCommandsToRunWithTheImageQuoted() throws Exception {
    Path img = dir.resolve("my disk.vde");
    long victim;
    try (VirtualDisk d = withTinyFiles(img, 16L << 20, 2000, 1500)) {
      victim = d.volume().regions().find(dev.vde.format.RegionDirectory.TAG_INODES).start() + 100;
    }
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(img,
        java.nio.file.StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(new byte[] {0x5a}), victim * 4096 + 10);
    }
    String err = Cli.run("module", "add", img, "tags", "--option", "migrate", "--checkpoint-every", "100",
        "--progress", "none").failsWith(3).stderr();
    assertThat(err).contains("rolled back").contains("'vde fsck \"" + img + "\"' shows the damage");
  }

  @Test
  void migrate_statusWhileAnotherProcessMigrates_readsItsCheckpoint() throws Exception {
    Path img = dir.resolve("busy.vde");
    try (VirtualDisk d = withTinyFiles(img, 32L << 20, 8000, 6000)) {
      assertThat(d.list("/")).hasSize(6000);
    }
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "dev.vde.cli.Main", "module", "add", img.toString(), "tags",
        "--option", "migrate", "--max-iops", "400", "--checkpoint-every", "100", "--progress", "none"));
    Process child = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    JsonNode seen = null;
    try {
      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < deadline && child.isAlive()) {
        JsonNode s = Cli.run("migrate", "status", img, "--json").ok().json();
        if (!s.isNull() && s.get("migrated").asLong() > 0) {
          seen = s;
          break;
        }
        Thread.sleep(100);
      }
      assertThat(seen).as("a status read while the other process migrates").isNotNull();
      assertThat(seen.get("phase").asText()).isEqualTo("COPYING_INODES");
      assertThat(seen.get("total").asLong()).isGreaterThanOrEqualTo(6000);
      assertThat(Cli.run("migrate", "status", img).ok().stdout()).contains("open in another process");
    } finally {
      child.destroyForcibly();
      child.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
    }
    // Killed: opened normally now, the volume reports at least the progress seen (or, had the migration just
    // finished, the module).
    JsonNode after = Cli.run("migrate", "status", img, "--json").ok().json();
    if (after.isNull()) {
      assertThat(Cli.run("info", img, "--json").ok().json().get("modules").toString()).contains("TAGS");
    } else {
      assertThat(after.get("migrated").asLong()).isGreaterThanOrEqualTo(seen.get("migrated").asLong());
    }
  }

  @Test
  void migrate_statusResumeAndRollbackOfAPendingMigration() throws Exception {
    Path img = dir.resolve("p.vde");
    try (VirtualDisk d = withTinyFiles(img, 16L << 20, 2000, 600)) {
      // Stop a migration at its first checkpoint, as Ctrl-C would, leaving it pending.
      dev.vde.module.MigrationControl ctl = new dev.vde.module.MigrationControl(0, false);
      dev.vde.module.InodeMigration.start(d, List.of(dev.vde.format.Module.TAGS),
          dev.vde.module.MigrationOptions.defaults().checkpointEvery(100).control(ctl).listener(p -> ctl.cancel()));
    }
    JsonNode st = Cli.run("migrate", "status", img, "--json").ok().json();
    assertThat(st.get("phase").asText()).isEqualTo("COPYING_INODES");
    assertThat(Cli.run("tag", "set", img, "/f1", "k=v").failsWith(3).stderr())
        .contains("being added by an inode migration").contains("vde migrate resume");
    assertThat(st.get("migrated").asLong()).isPositive();
    assertThat(Cli.run("info", img, "--json").ok().json().get("migration").get("total").asLong())
        .isEqualTo(st.get("total").asLong());
    assertThat(Cli.run("module", "add", img, "SEC", "--option", "migrate").failsWith(3).stderr())
        .contains("pending");
    JsonNode tags = Cli.run("module", "list", img, "--json").ok().json().get("modules").get(3);
    assertThat(tags.get("active").asBoolean()).isFalse();
    assertThat(tags.get("beingAdded").asBoolean()).as("Tags, while the migration adding it is pending").isTrue();
    assertThat(Cli.run("module", "list", img).ok().stdout().lines().filter(l -> l.startsWith("Tags ")))
        .singleElement().asString().contains(" migrating ");
    Cli.run("migrate", "rollback", img).ok();
    assertThat(Cli.run("module", "list", img, "--json").ok().json().get("modules").get(3).get("beingAdded")
        .asBoolean()).as("after the rollback").isFalse();
    assertThat(Cli.run("migrate", "status", img, "--json").ok().stdout().trim()).isEqualTo("null");
    assertThat(Cli.run("info", img, "--json").ok().json().get("inodeSize").asInt()).isEqualTo(320);
    Cli.run("migrate", "rollback", img).failsWith(3);
    Cli.run("migrate", "resume", img).failsWith(3);
    Cli.run("module", "add", img, "tags", "--option", "migrate").ok();
    assertThat(Cli.run("info", img, "--json").ok().json().get("inodeSize").asInt()).isEqualTo(448);
    assertThat(Cli.run("fsck", img).ok().exitCode()).isZero();
  }

  @Test
  void add_migrateOnAVolumeTooFullForTheNewTable_namesTheCopyThatWould_andWritesNothing() throws Exception {
    Path img = oneBlockShortOfAMigration("full.vde");
    String before = Cli.sha256(img);

    String err = Cli.run("module", "add", img, "tags", "--option", "migrate").failsWith(3).stderr();

    assertThat(err).contains("cannot add TAGS with --option migrate").contains("contiguous")
        .contains("--option copy --to");
    assertThat(Cli.sha256(img)).isEqualTo(before);
    assertThat(Cli.run("migrate", "status", img, "--json").ok().stdout().trim()).isEqualTo("null");
  }

  @Test
  void add_paddingOrRegionOnAVolumeOnlyACopyCanHelp_namesTheCopyWithItsDestination() throws Exception {
    Path img = oneBlockShortOfAMigration("full-in-place.vde");
    String before = Cli.sha256(img);

    String padding = Cli.run("module", "add", img, "tags", "--option", "padding").failsWith(3).stderr();
    String region = Cli.run("module", "add", img, "tags", "--option", "region").failsWith(3).stderr();

    assertThat(padding).contains("--option padding").contains("--option copy --to NEW_IMAGE would work");
    assertThat(region).contains("--option region").contains("--option copy --to NEW_IMAGE would work");
    assertThat(Cli.sha256(img)).isEqualTo(before);
  }

  @Test
  void moduleListsThatNameNoModule_areUsageErrors() throws Exception {
    Path img = image("16M", 256);
    String before = Cli.sha256(img);
    for (String names : new String[] {"", ",", " , "}) {
      assertThat(Cli.run("module", "add", img, names).failsWith(1).stderr()).as("add '%s'", names)
          .contains("MODULE");
      assertThat(Cli.run("module", "analyze", img, names).failsWith(1).stderr()).as("analyze '%s'", names)
          .contains("MODULE");
    }
    assertThat(Cli.sha256(img)).isEqualTo(before);
  }

  @Test
  void dryRun_whenOnlyACopyCanAddTheModule_showsThePlanAndExitsZero() throws Exception {
    Path img = oneBlockShortOfAMigration("dry-copy.vde");
    String before = Cli.sha256(img);

    String auto = Cli.run("module", "add", img, "tags", "--dry-run").ok().stdout();
    String copy = Cli.run("module", "add", img, "tags", "--option", "copy", "--dry-run").ok().stdout();

    assertThat(auto).contains("<- recommended").contains("Dry run: would add TAGS with --option copy --to NEW_IMAGE");
    assertThat(copy).contains("Dry run: would add TAGS with --option copy --to NEW_IMAGE");
    assertThat(Cli.sha256(img)).isEqualTo(before);
    assertThat(dir.resolve("NEW_IMAGE")).doesNotExist();
  }

  @Test
  void analyzeHelp_namesEveryKeyOfTheJsonOutput() throws Exception {
    Path img = image("16M", 256);
    JsonNode j = Cli.run("module", "analyze", img, "tags", "--json").ok().json();
    String help = Cli.run("module", "analyze", "--help").ok().stdout().replaceAll("\\s+", " ");
    help = help.substring(help.indexOf("--json "), help.indexOf("-V, --version"));
    List<String> keys = new ArrayList<>();
    j.fieldNames().forEachRemaining(keys::add);
    j.get("options").get(0).fieldNames().forEachRemaining(keys::add);
    for (String k : keys) {
      assertThat(help).as("--json help names '%s'", k).containsPattern("[{ ,]" + k + "[,}: ]");
    }
  }

  /**
   * A full 4 MiB volume one block short of room for a second inode table and Tags' region: no in-place option can
   * add Tags to it, a copy into a new volume can.
   */
  private Path oneBlockShortOfAMigration(String name) throws java.io.IOException {
    Path img = dir.resolve(name);
    try (VirtualDisk d = VirtualDisk.create(img, CreateOptions.ofSize(4L << 20).inodeCount(1000))) {
      dev.vde.module.InodeMigration.Plan plan = dev.vde.module.InodeMigration.plan(d,
          List.of(dev.vde.format.Module.TAGS));
      long room = plan.newTableBlocks() + plan.regionBlocks() - 1;
      int n = 0;
      while (d.info().freeBlocks() > room + 16) {
        d.writeFile("/big" + n++, new byte[16 * 4080]);
      }
      while (d.info().freeBlocks() > room) {
        d.writeFile("/small" + n++, new byte[4080]);
      }
    }
    return img;
  }

  /** A new volume holding {@code files} one-byte files in its root, written in one batch. */
  private static VirtualDisk withTinyFiles(Path img, long size, long inodes, int files) throws java.io.IOException {
    VirtualDisk d = VirtualDisk.create(img, CreateOptions.ofSize(size).inodeCount(inodes));
    d.batch(x -> {
      for (int i = 0; i < files; i++) {
        x.writeFile("/f" + i, new byte[] {(byte) i});
      }
    });
    return d;
  }
}
