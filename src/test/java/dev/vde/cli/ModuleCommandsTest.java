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
    assertThat(Cli.sha256(img)).isEqualTo(before);
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

  @Test
  void migrate_statusResumeAndRollbackOfAPendingMigration() throws Exception {
    Path img = dir.resolve("p.vde");
    try (VirtualDisk d = VirtualDisk.create(img, CreateOptions.ofSize(16L << 20).inodeCount(2000))) {
      d.batch(x -> {
        for (int i = 0; i < 600; i++) {
          x.writeFile("/f" + i, new byte[] {(byte) i});
        }
      });
      // Stop a migration at its first checkpoint, as Ctrl-C would, leaving it pending.
      dev.vde.module.MigrationControl ctl = new dev.vde.module.MigrationControl(0, false);
      dev.vde.module.InodeMigration.start(d, List.of(dev.vde.format.Module.TAGS),
          dev.vde.module.MigrationOptions.defaults().checkpointEvery(100).control(ctl).listener(p -> ctl.cancel()));
    }
    JsonNode st = Cli.run("migrate", "status", img, "--json").ok().json();
    assertThat(st.get("phase").asText()).isEqualTo("COPYING_INODES");
    assertThat(st.get("migrated").asLong()).isPositive();
    assertThat(Cli.run("info", img, "--json").ok().json().get("migration").get("total").asLong())
        .isEqualTo(st.get("total").asLong());
    assertThat(Cli.run("module", "add", img, "SEC", "--option", "migrate").failsWith(3).stderr())
        .contains("pending");
    Cli.run("migrate", "rollback", img).ok();
    assertThat(Cli.run("migrate", "status", img, "--json").ok().stdout().trim()).isEqualTo("null");
    assertThat(Cli.run("info", img, "--json").ok().json().get("inodeSize").asInt()).isEqualTo(320);
    Cli.run("migrate", "rollback", img).failsWith(3);
    Cli.run("migrate", "resume", img).failsWith(3);
    Cli.run("module", "add", img, "tags", "--option", "migrate").ok();
    assertThat(Cli.run("info", img, "--json").ok().json().get("inodeSize").asInt()).isEqualTo(448);
    assertThat(Cli.run("fsck", img).ok().exitCode()).isZero();
  }
}
