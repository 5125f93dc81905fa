package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.fs.VirtualDisk;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every kind of bad input ends in one line on stderr starting with "vde: ", the documented exit code, and no
 * change to anything stored.
 */
class BadInputTest {
  @TempDir
  Path tmp;

  private Path image;
  private Path hostFile;

  @BeforeEach
  void setUp() throws IOException {
    image = tmp.resolve("good.vde");
    Cli.run("create", image, "--size", "8M").ok();
    hostFile = Files.writeString(tmp.resolve("hello.txt"), "hello");
    Cli.run("put", image, hostFile, "/docs/hello.txt").ok();
  }

  /** Each command applied to {@code target}, with otherwise valid arguments. */
  private List<Object[]> everyImageCommand(Path target) {
    return List.of(
        new Object[] {"info", target},
        new Object[] {"info", target, "--json"},
        new Object[] {"put", target, hostFile, "/x.txt"},
        new Object[] {"get", target, "/docs/hello.txt", tmp.resolve("out.txt")},
        new Object[] {"ls", target, "/", "-R"},
        new Object[] {"mkdir", target, "/newdir"},
        new Object[] {"rm", target, "/docs/hello.txt"},
        new Object[] {"fsck", target},
        new Object[] {"fsck", target, "--json"});
  }

  @Test
  void missingImageSaysHowToCreateOne() {
    Path missing = tmp.resolve("nope.vde");
    for (Object[] args : everyImageCommand(missing)) {
      String err = Cli.run(args).failsWith(ExitCodes.FAILED).stderr();
      assertThat(err).as(Arrays.toString(args)).contains(missing.toString()).contains("no such file")
          .contains("vde create");
    }
    assertThat(Files.exists(missing)).isFalse();
    assertThat(Files.exists(tmp.resolve("out.txt"))).isFalse();
  }

  @Test
  void fileThatIsNotAVdeIsRefusedAndLeftAlone() throws IOException {
    byte[] noise = new byte[256 * 1024];
    new SplittableRandom(1).nextBytes(noise);
    Path junk = Files.write(tmp.resolve("junk.vde"), noise);
    String before = Cli.sha256(junk);
    for (Object[] args : everyImageCommand(junk)) {
      assertThat(Cli.run(args).failsWith(ExitCodes.FAILED).stderr()).as(Arrays.toString(args))
          .contains("not a vde image");
    }
    assertThat(Cli.sha256(junk)).isEqualTo(before);
  }

  @Test
  void truncatedImageIsRefusedAndLeftAlone() throws IOException {
    Path truncated = Files.write(tmp.resolve("cut.vde"), Arrays.copyOf(Files.readAllBytes(image), 1000));
    String before = Cli.sha256(truncated);
    for (Object[] args : everyImageCommand(truncated)) {
      Cli.run(args).failsWith(ExitCodes.FAILED);
    }
    assertThat(Cli.sha256(truncated)).isEqualTo(before);
  }

  @Test
  void imageOpenElsewhereIsReportedAsLocked() throws IOException {
    try (VirtualDisk held = VirtualDisk.open(image)) {
      assertThat(held.exists("/docs/hello.txt")).isTrue();
      String before = Cli.sha256(image);
      for (Object[] args : everyImageCommand(image)) {
        assertThat(Cli.run(args).failsWith(ExitCodes.FAILED).stderr()).as(Arrays.toString(args))
            .contains("already open").contains(image.toString());
      }
      assertThat(Cli.sha256(image)).isEqualTo(before);
    }
  }

  @Test
  void vdePathThatDoesNotExist() throws IOException {
    String before = Cli.sha256(image);
    Cli.run("get", image, "/docs/missing.txt", tmp.resolve("o.txt")).failsWith(ExitCodes.FAILED);
    Cli.run("get", image, "/nowhere/x", "-").failsWith(ExitCodes.FAILED);
    Cli.run("ls", image, "/nowhere").failsWith(ExitCodes.FAILED);
    Cli.run("rm", image, "/docs/missing.txt").failsWith(ExitCodes.FAILED);
    Cli.run("rm", image, "-r", "/nowhere").failsWith(ExitCodes.FAILED);
    assertThat(Cli.run("get", image, "/docs/missing.txt", "-").failsWith(ExitCodes.FAILED).stderr())
        .contains("/docs/missing.txt").contains(image.toString());
    assertThat(Cli.sha256(image)).isEqualTo(before);
    assertThat(Files.exists(tmp.resolve("o.txt"))).as("no empty host file left behind").isFalse();
  }

  @Test
  void getOfADirectoryIsRefused() throws IOException {
    assertThat(Cli.run("get", image, "/docs", "-").failsWith(ExitCodes.FAILED).stderr()).contains("directory");
  }

  @Test
  void hostFileThatDoesNotExist() throws IOException {
    String before = Cli.sha256(image);
    Path missing = tmp.resolve("no-such-host-file.txt");
    assertThat(Cli.run("put", image, missing, "/a/b.txt").failsWith(ExitCodes.FAILED).stderr())
        .contains(missing.toString()).contains("no such file");
    assertThat(Cli.run("put", image, tmp, "/a/b.txt").failsWith(ExitCodes.FAILED).stderr())
        .contains("is a directory");
    assertThat(Cli.sha256(image)).isEqualTo(before);
  }

  @Test
  void getIntoAMissingHostDirectory() throws IOException {
    Path target = tmp.resolve("no/such/dir/out.txt");
    assertThat(Cli.run("get", image, "/docs/hello.txt", target).failsWith(ExitCodes.FAILED).stderr())
        .contains("no such directory");
  }

  // A host file named with a trailing '/' (or as the folder of the destination) was called a missing directory.
  @Test
  void getIntoAHostFileAsIfADirectory_saysItIsNotOne() throws IOException {
    Path file = Files.writeString(tmp.resolve("plain.txt"), "keep");
    assertThat(Cli.run("get", image, "/docs/hello.txt", file + "/").failsWith(ExitCodes.FAILED).stderr())
        .contains(file + "/: not a directory").doesNotContain("no such");
    assertThat(Cli.run("get", image, "/docs/hello.txt", file.resolve("out.txt")).failsWith(ExitCodes.FAILED)
        .stderr()).contains(file + ": not a directory").doesNotContain("no such");
    assertThat(Files.readString(file)).isEqualTo("keep");
  }

  @Test
  void imagePathThatIsADirectory() {
    assertThat(Cli.run("info", tmp).failsWith(ExitCodes.FAILED).stderr()).contains("is a directory");
  }

  @Test
  void fullVolumeReportsNoSpaceAndKeepsWhatWasThere() throws IOException {
    byte[] big = new byte[16 << 20];
    Path bigFile = Files.write(tmp.resolve("big.bin"), big);
    String listingBefore = Cli.run("ls", image, "-R").ok().stdout();
    assertThat(Cli.run("put", image, bigFile, "/big.bin").failsWith(ExitCodes.FAILED).stderr())
        .contains(image.toString()).contains("vde rm");
    assertThat(Cli.run("put", image, bigFile, "/new/dirs/big.bin").failsWith(ExitCodes.FAILED).stderr())
        .contains("vde rm");
    assertThat(Cli.run("ls", image, "-R").ok().stdout()).as("no file or directory left behind")
        .isEqualTo(listingBefore);
    assertThat(Cli.run("get", image, "/docs/hello.txt", "-").ok().stdout()).isEqualTo("hello");
    assertThat(Cli.run("fsck", image).exitCode()).isZero();
  }

  /**
   * An empty word where a host file is named (a script's unset variable) is the current directory to Java: it gave
   * ": is a directory, not an image file", naming nothing, and {@code vde demo ""} an internal error (exit 4) with
   * "working in null". Every command refuses it as a usage error instead, writing nothing.
   */
  @Test
  void anEmptyHostFileName_isAUsageError_forEveryCommand() throws IOException {
    String before = Cli.sha256(image);
    List<Object[]> commands = new java.util.ArrayList<>(everyImageCommand(Path.of("")));
    commands.add(new Object[] {"create", "", "--size", "8M"});
    commands.add(new Object[] {"put", image, "", "/y"});
    commands.add(new Object[] {"demo", "", "--files", "1", "--progress", "none"});
    commands.add(new Object[] {"copy", image, ""});
    commands.add(new Object[] {"module", "add", image, "tags", "--to", ""});
    for (Object[] args : commands) {
      String err = Cli.run(args).failsWith(ExitCodes.USAGE).stderr();
      assertThat(err).as(Arrays.toString(args)).contains("empty").doesNotContain("vde: :");
    }
    assertThat(Cli.sha256(image)).isEqualTo(before);
    try (var left = Files.list(tmp)) {
      assertThat(left.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("good.vde", "hello.txt");
    }
  }

  /**
   * {@code vde create backups/ --size 8M} made a file "backups": the trailing '/' says the user meant a directory,
   * and the file is then in the way of every later "backups/x.vde". As {@code copy} does for DEST, create refuses it.
   */
  @Test
  void createOfANameEndingInASlash_makesNoFileOfTheNameWithoutIt() throws IOException {
    Path dir = Files.createDirectory(tmp.resolve("dir"));
    assertThat(Cli.run("create", tmp.resolve("new") + "/", "--size", "8M").failsWith(ExitCodes.FAILED).stderr())
        .contains("new/: no such directory");
    assertThat(tmp.resolve("new")).doesNotExist();
    assertThat(Cli.run("create", dir + "/", "--size", "8M").failsWith(ExitCodes.FAILED).stderr())
        .contains("dir/: is a directory; name the new image file in it");
    String before = Cli.sha256(image);
    assertThat(Cli.run("create", image + "/", "--size", "8M").failsWith(ExitCodes.FAILED).stderr())
        .contains("good.vde/: not a directory");
    assertThat(Cli.sha256(image)).isEqualTo(before);
    try (var left = Files.list(dir)) {
      assertThat(left).isEmpty();
    }
  }

  /**
   * A named pipe given as IMAGE: opening it blocks until some process writes to it, so {@code vde info PIPE} hung
   * for good, and a device read as a file of 0 bytes ("not a vde image"). Each is refused as not a file, at once.
   */
  @Test
  @org.junit.jupiter.api.Timeout(value = 60, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
  void aPipeOrADeviceAsTheImage_isRefusedAtOnce() throws Exception {
    Path fifo = tmp.resolve("pipe.vde");
    Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
    org.junit.jupiter.api.Assumptions.assumeTrue(mk.waitFor() == 0, "mkfifo is available");
    List<Object[]> commands = new java.util.ArrayList<>(everyImageCommand(fifo));
    commands.add(new Object[] {"copy", fifo, tmp.resolve("copy.vde")});
    commands.add(new Object[] {"module", "list", fifo});
    commands.add(new Object[] {"migrate", "status", fifo});
    commands.add(new Object[] {"info", Path.of("/dev/zero")});
    for (Object[] args : commands) {
      String err = Cli.run(args).failsWith(ExitCodes.FAILED).stderr();
      Object named = Arrays.asList(args).contains(fifo) ? fifo : "/dev/zero";
      assertThat(err).as(Arrays.toString(args)).contains(named + ": not a regular file (a pipe or a device?)");
    }
    assertThat(tmp.resolve("copy.vde")).doesNotExist();
    assertThat(tmp.resolve("out.txt")).doesNotExist();
  }
}
