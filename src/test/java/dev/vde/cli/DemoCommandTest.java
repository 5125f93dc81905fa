package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCommandTest {
  @TempDir
  Path tmp;

  @Test
  void demoFillsChecksAndReportsSpeeds() {
    Cli.Result r = Cli.run("demo", tmp, "--files", "80").ok();
    assertThat(r.stdout()).contains("working in " + tmp)
        .contains("wrote 80 files")
        .contains("Capacity")
        .contains("identical")
        .contains("clean")
        .contains("files/s")
        .contains("MiB/s");

    Path image = tmp.resolve(DemoCommand.IMAGE_NAME);
    JsonNode listing = Cli.run("ls", image, "-R", "--json").ok().json();
    long files = 0;
    for (JsonNode item : listing) {
      if (item.get("type").asText().equals("file")) {
        files++;
      }
    }
    assertThat(files).isEqualTo(80);
    assertThat(Cli.run("fsck", image, "--json").ok().json().get("clean").asBoolean()).isTrue();
  }

  @Test
  void demoContentIsDeterministic() {
    assertThat(SampleFiles.generate(50, 9)).isEqualTo(SampleFiles.generate(50, 9));
    SampleFiles.Sample s = SampleFiles.generate(50, 9).get(7);
    assertThat(s.content()).isEqualTo(s.content());
    assertThat(SampleFiles.generate(300, 1)).anyMatch(x -> x.size() == 0).anyMatch(x -> x.size() > (1 << 20));
  }

  // --files took any int: 2^31 - 1 ended in OutOfMemoryError while listing the samples, before anything was said.
  @Test
  void aHugeFileCountIsAUsageError() throws IOException {
    Cli.Result r = Cli.run("demo", tmp, "--files", "2147483647").failsWith(ExitCodes.USAGE);
    assertThat(r.stderr()).contains("--files").contains("1000000");
    assertThat(Cli.run("demo", tmp, "--files", "1000001").failsWith(ExitCodes.USAGE).stderr()).contains("--files");
    try (Stream<Path> left = Files.list(tmp)) {
      assertThat(left).isEmpty();
    }
  }

  @Test
  void demoRefusesToOverwriteAnEarlierImage() throws IOException {
    Files.writeString(tmp.resolve(DemoCommand.IMAGE_NAME), "earlier");
    assertThat(Cli.run("demo", tmp, "--files", "5").failsWith(ExitCodes.FAILED).stderr()).contains("already exists");
    assertThat(Files.readString(tmp.resolve(DemoCommand.IMAGE_NAME))).isEqualTo("earlier");
  }

  // Only demo.vde was checked up front: a copy left by an earlier demo (whose demo.vde the user deleted, as the
  // refusal above tells them to) failed the demo at its last step, after all the work, suggesting a --force that
  // demo does not have.
  @Test
  void demoRefusesAnEarlierCopyBeforeItStarts() throws IOException {
    Path copy = tmp.resolve(DemoCommand.COPY_NAME);
    Files.writeString(copy, "earlier");
    Cli.Result r = Cli.run("demo", tmp, "--files", "5").failsWith(ExitCodes.FAILED);
    assertThat(r.stderr()).contains(copy.toString()).contains("already exists").doesNotContain("force");
    assertThat(r.stdout()).isEmpty();
    assertThat(Files.readString(copy)).isEqualTo("earlier");
    assertThat(tmp.resolve(DemoCommand.IMAGE_NAME)).doesNotExist();
    // Without the modules part the demo makes no copy, so an earlier one does not stand in its way.
    assertThat(Cli.run("demo", tmp, "--files", "5", "--no-modules").ok().stdout()).contains("identical");
  }

  @Test
  void demoWithoutAFolderUsesANewTemporaryOneAndSaysWhere() throws IOException {
    Cli.Result r = Cli.run("demo", "--files", "20").ok();
    Matcher m = Pattern.compile("working in (\\S+)").matcher(r.stdout());
    assertThat(m.find()).isTrue();
    Path dir = Path.of(m.group(1));
    try {
      assertThat(dir.resolve(DemoCommand.IMAGE_NAME)).exists();
    } finally {
      deleteTree(dir);
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
