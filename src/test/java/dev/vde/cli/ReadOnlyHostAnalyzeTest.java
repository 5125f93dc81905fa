package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code module analyze} of a host file this user may not write. The analysis only reads, so it runs; but it
 * recommended the migration, which writes to the file in place, and the command it named then failed on the
 * permissions. The options that write in place must say they cannot run; the copy, which only reads, still can.
 */
class ReadOnlyHostAnalyzeTest {
  @TempDir
  Path dir;

  @Test
  void analyzeOfAHostFileWeMayNotWrite_saysTheInPlaceOptionsCannotRun_andRecommendsTheCopy() throws Exception {
    Path img = dir.resolve("ro.vde");
    Cli.run("create", img, "--size", "16M", "--inodes", "256").ok();
    Path host = dir.resolve("a.txt");
    Files.writeString(host, "hello");
    Cli.run("put", img, host, "/a.txt").ok();
    Files.setPosixFilePermissions(img, PosixFilePermissions.fromString("r--r--r--"));
    assumeFalse(Files.isWritable(img), "permissions do not bind this user (root)");
    String before = Cli.sha256(img);

    JsonNode a = Cli.run("module", "analyze", img, "tags", "--json").ok().json();
    for (JsonNode o : a.get("options")) {
      if (o.get("option").asText().equals("copy")) {
        assertThat(o.get("feasible").asBoolean()).as("the copy only reads the source").isTrue();
      } else {
        assertThat(o.get("feasible").asBoolean()).as(o.get("option").asText()).isFalse();
        assertThat(o.get("reason").asText()).contains("not writable");
      }
    }
    assertThat(a.get("recommended").asText()).isEqualTo("copy");
    assertThat(Cli.run("module", "analyze", img, "tags").ok().stdout()).contains("--option copy --to NEW_IMAGE");
    assertThat(Cli.sha256(img)).as("analyze writes nothing").isEqualTo(before);
  }
}
