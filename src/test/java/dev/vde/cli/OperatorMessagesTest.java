package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an operator reads when a command cannot do what was asked: the message names what the user typed (the
 * image, the path inside it, the host file), says what is wrong, and stays one line.
 */
class OperatorMessagesTest {
  @TempDir
  Path tmp;

  private Path image;

  @BeforeEach
  void createImage() throws IOException {
    image = tmp.resolve("ops.vde");
    Cli.run("create", image, "--size", "8M").ok();
    Cli.run("put", image, Files.writeString(tmp.resolve("a.txt"), "alpha"), "/a.txt").ok();
  }

  /**
   * Makes {@code dir} refuse new files: its mode where permissions bind this user, else (as root) the immutable
   * attribute. Returns false when neither works here.
   */
  private static boolean makeUnwritable(Path dir) throws IOException, InterruptedException {
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-xr-xr-x"));
    if (Files.isWritable(dir)) {
      new ProcessBuilder("chattr", "+i", dir.toString()).redirectErrorStream(true).start().waitFor();
    }
    return !Files.isWritable(dir);
  }

  private static void makeWritable(Path dir) throws IOException, InterruptedException {
    new ProcessBuilder("chattr", "-i", dir.toString()).redirectErrorStream(true).start().waitFor();
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  @Test
  void getIntoAFolderThatTakesNoNewFiles_namesTheFileAskedFor_notAHiddenPartialFile() throws Exception {
    Path folder = Files.createDirectories(tmp.resolve("locked"));
    try {
      Assumptions.assumeTrue(makeUnwritable(folder), "a folder can be made unwritable here");
      Path target = folder.resolve("out.txt");
      String err = Cli.run("get", image, "/a.txt", target).failsWith(ExitCodes.FAILED).stderr();
      assertThat(err).startsWith("vde: " + target + ": cannot write: ").contains(folder.toString())
          .doesNotContain(".part");
      // The same when the folder itself is named: the file keeps its name inside it.
      err = Cli.run("get", image, "/a.txt", folder).failsWith(ExitCodes.FAILED).stderr();
      assertThat(err).startsWith("vde: " + folder.resolve("a.txt") + ": cannot write: ").doesNotContain(".part");
      assertThat(target).doesNotExist();
    } finally {
      makeWritable(folder);
    }
  }

  @Test
  void controlCharactersInAPathAreEscapedInTheErrorLine_asInListings() {
    String odd = "/no\nsuch\u001b[31m";
    String shown = "/no\\nsuch\\x1b[31m";
    // From the engine (get, ls), from the tool itself (mv) and from the command-line parser (an unknown word).
    for (Object[] args : new Object[][] {
        {"get", image, odd, "-"}, {"ls", image, odd}, {"mv", image, odd, "/b"}}) {
      String err = Cli.run(args).failsWith(ExitCodes.FAILED).stderr();
      assertThat(err).as(java.util.Arrays.toString(args)).contains(shown).doesNotContain("\u001b")
          .doesNotContain("/no such");
    }
    String usage = Cli.run("info", image, "extra\u001b[2J").failsWith(ExitCodes.USAGE).stderr();
    assertThat(usage).contains("extra\\x1b[2J").doesNotContain("\u001b");
  }

  @Test
  void fsckTextShowsANameFromADamagedVolumeEscaped_oneProblemPerLine() {
    // The verifier quotes entry names as it finds them; on a damaged volume they may hold any byte.
    dev.vde.check.VerifyReport found = new dev.vde.check.VerifyReport(List.of(
        new dev.vde.check.Problem(812, "directory entries", "entry 'x\ny\u001b]0;title\u0007' in directory inode 2 "
            + "points at free inode 9"),
        new dev.vde.check.Problem(-1, "directory tree", "inode 9 \u001b[2J is unreachable")), 10, 3, 1);
    java.util.List<String> lines = FsckReport.of(found).lines();
    assertThat(lines).hasSize(3);
    assertThat(lines.get(0)).isEqualTo("block 812 (directory entries): entry 'x\\ny\\x1b]0;title\\x07' in directory "
        + "inode 2 points at free inode 9");
    assertThat(lines.get(1)).isEqualTo("directory tree: inode 9 \\x1b[2J is unreachable");
    assertThat(String.join("", lines)).doesNotContain("\u001b").doesNotContain("\u0007");
  }

  @Test
  void aCountThatIsNotANumber_orTooLargeForItsOption_isSaidSoInPlainWords() {
    String notANumber = Cli.run("create", tmp.resolve("n.vde"), "--size", "1M", "--inodes", "1M")
        .failsWith(ExitCodes.USAGE).stderr();
    assertThat(notANumber).contains("'1M' is not a whole number").doesNotContain("long");
    String tooLarge = Cli.run("demo", tmp.resolve("demo"), "--files", "99999999999").failsWith(ExitCodes.USAGE)
        .stderr();
    assertThat(tooLarge).contains("--files").contains("'99999999999' is too large").doesNotContain("not an int");
    assertThat(Cli.run("module", "add", image, "tags", "--checkpoint-every", "1.5").failsWith(ExitCodes.USAGE)
        .stderr()).contains("'1.5' is not a whole number");
    assertThat(Cli.run("copy", image, tmp.resolve("c.vde"), "--max-iops", "123456789012345678901234")
        .failsWith(ExitCodes.USAGE).stderr()).contains("is too large");
    assertThat(tmp.resolve("n.vde")).doesNotExist();
    assertThat(tmp.resolve("demo")).doesNotExist();
    assertThat(tmp.resolve("c.vde")).doesNotExist();
    // A count written with a sign still parses.
    Cli.run("create", tmp.resolve("ok.vde"), "--size", "1M", "--inodes", "+100").ok();
  }

  @Test
  void migrateResumeNamesTheOneOptionThatIsWrong_asModuleAddDoes() {
    String iops = Cli.run("migrate", "resume", image, "--max-iops", "-1").failsWith(ExitCodes.USAGE).stderr();
    assertThat(iops).contains("--max-iops must be 0 (unlimited) or more").doesNotContain("--checkpoint-every");
    String every = Cli.run("migrate", "resume", image, "--checkpoint-every", "0").failsWith(ExitCodes.USAGE).stderr();
    assertThat(every).contains("--checkpoint-every must be at least 1").doesNotContain("--max-iops");
    // The same words as 'module add', which takes the same two options.
    assertThat(Cli.run("module", "add", image, "tags", "--max-iops", "-1").failsWith(ExitCodes.USAGE).stderr())
        .contains("--max-iops must be 0 (unlimited) or more");
  }

  @Test
  void failuresAboutAPathInsideTheImage_nameTheImage_whicheverPartNoticesThem() throws IOException {
    Cli.run("mkdir", image, "/full/sub", "-p").ok();
    Cli.run("put", image, Files.writeString(tmp.resolve("b.txt"), "beta"), "/b.txt").ok();
    Path tagged = tmp.resolve("tagged.vde");
    Cli.run("create", tagged, "--size", "8M", "--modules", "tags").ok();
    Cli.run("mkdir", tagged, "/d").ok();
    String suffix = " (" + image + ")";
    // The engine's own message for a missing path, as the README shows it.
    assertThat(Cli.run("get", image, "/nope", "-").failsWith(ExitCodes.FAILED).stderr()).endsWith(suffix + "\n");
    for (Object[] args : new Object[][] {
        {"mv", image, "/nope", "/x"},
        {"mv", image, "/a.txt", "/a.txt"},
        {"mv", image, "/a.txt", "/b.txt", "-n"},
        {"mv", image, "/a.txt", "/missing/"},
        {"mv", image, "/", "/x"},
        {"get", image, "/full", "-"},
        {"rm", image, "/full"},
        {"rm", image, "/"}}) {
      assertThat(Cli.run(args).failsWith(ExitCodes.FAILED).stderr()).as(java.util.Arrays.toString(args))
          .endsWith(suffix + "\n");
    }
    assertThat(Cli.run("tag", "get", tagged, "/d", "k").failsWith(ExitCodes.FAILED).stderr())
        .endsWith(" (" + tagged + ")\n");
  }

  @Test
  void infoCountsOnlyInodesAFileCanGet_soAFullVolumeShowsNoneFree() throws IOException {
    Path small = tmp.resolve("small.vde");
    Cli.run("create", small, "--size", "1M", "--inodes", "4").ok();
    Path host = Files.writeString(tmp.resolve("f.txt"), "f");
    Cli.run("put", small, host, "/1").ok();
    Cli.run("put", small, host, "/2").ok();
    String refused = Cli.run("put", small, host, "/3").failsWith(ExitCodes.FAILED).stderr();
    assertThat(refused).contains("no free inodes", "--inodes").as("no advice that contradicts it")
        .doesNotContain("make room", "larger image");
    String inodes = Cli.run("info", small).ok().stdout().lines().filter(l -> l.startsWith("Inodes")).findFirst()
        .orElseThrow();
    assertThat(inodes).contains("3 used, 0 free of 4 (inode 0 is reserved)");
    JsonNode json = Cli.run("info", small, "--json").ok().json();
    assertThat(json.get("inodeCount").asLong() - 1 - json.get("inodesUsed").asLong()).as("free, as the README says")
        .isZero();
  }

  @Test
  void demoGivenAFileForItsFolder_saysItWantsAFolder_andLeavesTheFile() throws IOException {
    Path file = Files.writeString(tmp.resolve("notes.txt"), "mine");
    String err = Cli.run("demo", file, "--files", "1", "--no-modules").failsWith(ExitCodes.FAILED).stderr();
    assertThat(err).isEqualTo("vde: " + file + ": not a directory; DIR is the folder the demo puts demo.vde in\n");
    assertThat(Files.readString(file)).isEqualTo("mine");
  }

  @Test
  void helpNamesEveryExitCodeUseAndEveryJsonKeyTheCommandPrints() {
    // demo ends with a check and exits 2 when it finds problems, as the README's table says.
    String footer = Cli.run("--help").ok().stdout();
    assertThat(footer.lines().filter(l -> l.strip().startsWith("2 ")).findFirst().orElseThrow()).contains("fsck")
        .contains("demo");
    assertHelpNamesEveryKey(List.of("module", "list"), List.of(image), "modules");
    assertHelpNamesEveryKey(List.of("module", "analyze"), List.of(image, "tags"), "options");
    assertHelpNamesEveryKey(List.of("fsck"), List.of(image), null);
  }

  /** The command's --json help names every top-level key of its output, and those of {@code list}'s elements. */
  private static void assertHelpNamesEveryKey(List<Object> command, List<Object> operands, String list) {
    List<Object> help = new ArrayList<>(command);
    help.add("--help");
    String text = Cli.run(help.toArray()).ok().stdout().replaceAll("\\s+", " ");
    List<Object> run = new ArrayList<>(command);
    run.addAll(operands);
    run.add("--json");
    JsonNode json = Cli.run(run.toArray()).json();
    List<String> keys = new ArrayList<>();
    json.fieldNames().forEachRemaining(keys::add);
    if (list != null) {
      json.get(list).get(0).fieldNames().forEachRemaining(keys::add);
    }
    assertThat(keys).isNotEmpty().allSatisfy(key -> assertThat(text).as(command + " --help").contains(key));
  }
}
