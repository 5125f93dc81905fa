package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.fs.VirtualDisk;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vde mv}: renames and moves as mv(1) does, refuses what would lose data, and leaves a clean image. */
class MvCommandTest {
  @TempDir
  Path tmp;

  private Path image;

  @BeforeEach
  void createImage() throws IOException {
    image = tmp.resolve("mv.vde");
    Cli.run("create", image, "--size", "16M").ok();
    put("/docs/a.txt", "alpha");
    put("/docs/b.txt", "beta");
    put("/docs/sub/c.txt", "gamma");
    Cli.run("mkdir", image, "/archive").ok();
  }

  private void put(String vdePath, String content) throws IOException {
    Path host = tmp.resolve("host-" + Integer.toHexString(content.hashCode()));
    Files.writeString(host, content);
    Cli.run("put", image, host, vdePath).ok();
  }

  private String content(String vdePath) {
    return Cli.run("get", image, vdePath, "-").ok().stdout();
  }

  private boolean exists(String vdePath) throws IOException {
    try (VirtualDisk disk = VirtualDisk.open(image)) {
      return disk.exists(vdePath);
    }
  }

  private void assertClean() throws IOException {
    assertThat(Cli.run("fsck", image).exitCode()).as("fsck after the moves").isZero();
  }

  @Test
  void renamesAFileInPlace() throws IOException {
    Cli.run("mv", image, "/docs/a.txt", "/docs/renamed.txt").ok();

    assertThat(exists("/docs/a.txt")).isFalse();
    assertThat(content("/docs/renamed.txt")).isEqualTo("alpha");
    assertClean();
  }

  @Test
  void movesIntoAnExistingDirectoryUnderTheSameName() throws IOException {
    Cli.run("mv", image, "docs/a.txt", "/archive").ok();
    Cli.run("mv", image, "/docs/b.txt", "archive/").ok();

    assertThat(content("/archive/a.txt")).isEqualTo("alpha");
    assertThat(content("/archive/b.txt")).isEqualTo("beta");
    assertThat(exists("/docs/a.txt")).isFalse();
    assertThat(exists("/docs/b.txt")).isFalse();
    assertClean();
  }

  @Test
  void movesADirectoryWithEverythingInIt() throws IOException {
    Cli.run("mv", image, "/docs", "/archive").ok();

    assertThat(content("/archive/docs/sub/c.txt")).isEqualTo("gamma");
    assertThat(content("/archive/docs/a.txt")).isEqualTo("alpha");
    assertThat(exists("/docs")).isFalse();
    assertClean();
  }

  @Test
  void replacesAnExistingFileAsMvDoes() throws IOException {
    Cli.run("mv", image, "/docs/a.txt", "/docs/b.txt").ok();

    assertThat(content("/docs/b.txt")).isEqualTo("alpha");
    assertThat(exists("/docs/a.txt")).isFalse();
    assertClean();
  }

  @Test
  void noClobberRefusesAnExistingFileAndChangesNothing() throws IOException {
    String before = Cli.sha256(image);

    String err = Cli.run("mv", image, "-n", "/docs/a.txt", "/docs/b.txt").failsWith(ExitCodes.FAILED).stderr();

    assertThat(err).contains("/docs/b.txt").contains("already exists");
    assertThat(Cli.sha256(image)).isEqualTo(before);
    assertThat(content("/docs/b.txt")).isEqualTo("beta");
  }

  @Test
  void refusesWhatWouldLoseOrTangleDataAndLeavesTheImageAsItWas() throws IOException {
    put("/archive/docs", "a file named like the directory");
    put("/archive/sub", "a file named like a directory in /docs");
    String before = Cli.sha256(image);

    assertThat(Cli.run("mv", image, "/", "/archive").failsWith(ExitCodes.FAILED).stderr()).contains("root");
    assertThat(Cli.run("mv", image, "/missing", "/x").failsWith(ExitCodes.FAILED).stderr())
        .contains("/missing").contains("no such");
    assertThat(Cli.run("mv", image, "/docs", "/docs/sub/deeper").failsWith(ExitCodes.FAILED).stderr())
        .contains("into itself");
    // As with mv(1), a directory named as its own target directory would move into itself.
    assertThat(Cli.run("mv", image, "/docs", "/docs").failsWith(ExitCodes.FAILED).stderr())
        .contains("into itself");
    assertThat(Cli.run("mv", image, "/docs/a.txt", "/docs").failsWith(ExitCodes.FAILED).stderr())
        .contains("same");
    assertThat(Cli.run("mv", image, "/docs/a.txt", "/nowhere/").failsWith(ExitCodes.FAILED).stderr())
        .contains("/nowhere").contains("no such directory");
    // A file there is not a missing directory: the user would look for a typo in a name that is right.
    assertThat(Cli.run("mv", image, "/docs/a.txt", "/archive/docs/").failsWith(ExitCodes.FAILED).stderr())
        .contains("/archive/docs: not a directory").doesNotContain("no such");
    // Into /archive, the directory would replace the file /archive/docs.
    assertThat(Cli.run("mv", image, "/docs", "/archive").failsWith(ExitCodes.FAILED).stderr())
        .contains("/archive/docs").contains("directory cannot replace a file");
    // Into /docs, the file would replace the directory /docs/sub and everything in it.
    assertThat(Cli.run("mv", image, "/archive/sub", "/docs").failsWith(ExitCodes.FAILED).stderr())
        .contains("/docs/sub").contains("directory is already there");

    assertThat(Cli.sha256(image)).as("the image after the refused moves").isEqualTo(before);
    assertThat(content("/docs/sub/c.txt")).isEqualTo("gamma");
    assertThat(content("/archive/docs")).isEqualTo("a file named like the directory");
    assertClean();
  }

  @Test
  void aBadPathIsAUsageOrPlainError() {
    Cli.run("mv", image, "/docs/a.txt").failsWith(ExitCodes.USAGE);
    assertThat(Cli.run("mv", tmp.resolve("none.vde"), "/a", "/b").failsWith(ExitCodes.FAILED).stderr())
        .contains("no such file");
  }

  @Test
  void namesWithNonAsciiCharactersMove() throws IOException {
    put("/docs/café.txt", "crème");
    Cli.run("mv", image, "/docs/café.txt", "/archive/naïve ✓.txt").ok();

    assertThat(Cli.run("get", image, "/archive/naïve ✓.txt", "-").ok().stdoutBytes())
        .isEqualTo("crème".getBytes(StandardCharsets.UTF_8));
    assertClean();
  }
}
