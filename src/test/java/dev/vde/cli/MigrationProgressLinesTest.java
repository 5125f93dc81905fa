package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code --progress json} writes while a migration runs: the first and the last state, always. */
class MigrationProgressLinesTest {
  @TempDir
  Path dir;

  /** A volume whose Tags migration stopped at its first checkpoint, as Ctrl-C leaves it. */
  private Path pendingMigration() throws Exception {
    Path img = dir.resolve("p.vde");
    try (VirtualDisk d = VirtualDisk.create(img, CreateOptions.ofSize(16L << 20).inodeCount(2000))) {
      d.batch(x -> {
        for (int i = 0; i < 600; i++) {
          x.writeFile("/f" + i, new byte[] {(byte) i});
        }
      });
      MigrationControl ctl = new MigrationControl(0, false);
      InodeMigration.start(d, List.of(Module.TAGS),
          MigrationOptions.defaults().checkpointEvery(100).control(ctl).listener(p -> ctl.cancel()));
    }
    return img;
  }

  private static List<JsonNode> jsonLines(Cli.Result r) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (String line : r.stderrLines()) {
      out.add(Cli.parse(line));
    }
    return out;
  }

  // A resume short enough for one batch wrote its first line only after that batch: its first line was its last.
  @Test
  void resume_writesTheStateItStartsFrom_beforeItsFirstBatch() throws Exception {
    Path img = pendingMigration();
    JsonNode st = Cli.run("migrate", "status", img, "--json").ok().json();
    long from = st.get("migrated").asLong();
    long total = st.get("total").asLong();
    assertThat(from).as("the first run stopped part-way").isPositive().isLessThan(total);

    List<JsonNode> lines = jsonLines(Cli.run("migrate", "resume", img, "--progress", "json").ok());

    assertThat(lines).as("progress lines").hasSizeGreaterThanOrEqualTo(2);
    assertThat(lines.get(0).get("done").asLong()).as("the first line: the checkpoint the resume starts from")
        .isEqualTo(from);
    assertThat(lines.get(0).get("total").asLong()).isEqualTo(total);
    JsonNode last = lines.get(lines.size() - 1);
    assertThat(last.get("done").asLong()).as("the last line: every inode copied").isEqualTo(total);
    assertThat(lines).extracting(n -> n.get("phase").asText()).containsOnly("migrating inodes");
  }

  // A migration that began with 'module add' shows 0 done first, however quick its first batch.
  @Test
  void moduleAdd_writesZeroDoneFirst() throws Exception {
    Path img = dir.resolve("a.vde");
    try (VirtualDisk d = VirtualDisk.create(img, CreateOptions.ofSize(16L << 20).inodeCount(2000))) {
      d.writeFile("/a", new byte[] {1});
    }

    List<JsonNode> lines = jsonLines(Cli.run("module", "add", img, "tags", "--option", "migrate", "--progress",
        "json").ok());

    assertThat(lines).hasSizeGreaterThanOrEqualTo(2);
    assertThat(lines.get(0).get("done").asLong()).isZero();
    assertThat(lines.get(lines.size() - 1).get("done").asLong())
        .isEqualTo(lines.get(lines.size() - 1).get("total").asLong());
  }
}
