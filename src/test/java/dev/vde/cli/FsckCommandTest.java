package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vde.check.Problem;
import dev.vde.check.VerifyReport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FsckCommandTest {
  /** A name that occurs nowhere else in the image, so finding its bytes finds its directory block. */
  private static final String UNIQUE_NAME = "fsck-damage-target-7f3a9c.txt";

  @TempDir
  Path tmp;

  @Test
  void damagedDirectoryBlockIsFoundAndReportedWithExitCode2() throws IOException {
    Path image = tmp.resolve("d.vde");
    Cli.run("create", image, "--size", "8M").ok();
    Cli.run("put", image, Files.writeString(tmp.resolve("p.txt"), "data"), "/dir/" + UNIQUE_NAME).ok();
    corruptEveryCopyOf(image, UNIQUE_NAME.getBytes(StandardCharsets.UTF_8));
    String before = Cli.sha256(image);

    Cli.Result json = Cli.run("fsck", image, "--json");
    assertThat(json.exitCode()).as(json.stderr()).isEqualTo(ExitCodes.PROBLEMS_FOUND);
    JsonNode report = json.json();
    assertThat(report.get("clean").asBoolean()).isFalse();
    assertThat(report.get("problems")).isNotEmpty();
    for (JsonNode problem : report.get("problems")) {
      assertThat(problem.fieldNames()).toIterable().containsExactly("block", "structure", "message");
      assertThat(problem.get("block").isNull() || problem.get("block").isIntegralNumber()).isTrue();
      assertThat(problem.get("structure").asText()).isNotBlank();
      assertThat(problem.get("message").asText()).isNotBlank();
    }

    Cli.Result text = Cli.run("fsck", image);
    assertThat(text.exitCode()).isEqualTo(ExitCodes.PROBLEMS_FOUND);
    assertThat(text.stdout()).contains("problem");
    assertThat(Cli.sha256(image)).as("fsck never writes").isEqualTo(before);

    // Other commands meet the damage as an error naming the block.
    assertThat(Cli.run("ls", image, "/dir").failsWith(ExitCodes.FAILED).stderr()).contains("block");
  }

  @Test
  void problemsWithoutABlockHaveANullBlock() throws IOException {
    VerifyReport report = new VerifyReport(List.of(new Problem(-1, "directory tree", "loop at /a"),
        new Problem(1234, "inode table", "bad checksum")), 100, 10, 5);
    JsonNode json = Cli.parse(Json.pretty(FsckReport.of(report)));
    assertThat(json.get("clean").asBoolean()).isFalse();
    assertThat(json.get("problems").get(0).get("block").isNull()).isTrue();
    assertThat(json.get("problems").get(1).get("block").asLong()).isEqualTo(1234);
    assertThat(FsckReport.of(report).lines()).containsExactly("directory tree: loop at /a",
        "block 1,234 (inode table): bad checksum", "2 problems found; 100 blocks, 10 inodes and 5 files checked");
  }

  /**
   * Flips a byte in every place the needle occurs: the live directory block, and any stale copy in the
   * metadata WAL (which is harmless to damage).
   */
  private static void corruptEveryCopyOf(Path image, byte[] needle) throws IOException {
    byte[] bytes = Files.readAllBytes(image);
    int found = 0;
    for (int at = indexOf(bytes, needle, 0); at >= 0; at = indexOf(bytes, needle, at + 1)) {
      bytes[at] ^= 0x20;
      found++;
    }
    assertThat(found).as("the name is stored in the image").isPositive();
    Files.write(image, bytes);
  }

  private static int indexOf(byte[] haystack, byte[] needle, int from) {
    outer:
    for (int i = from; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
