package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vde.format.Module;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CopyCommandTest {
  @TempDir
  Path tmp;

  private Path image;

  @BeforeEach
  void image() throws IOException {
    image = tmp.resolve("src.vde");
    Cli.run("create", image, "--size", "16M").ok();
    Cli.run("put", image, Files.write(tmp.resolve("a.bin"), new byte[100_000]), "/docs/a.bin").ok();
    Cli.run("put", image, Files.writeString(tmp.resolve("b.txt"), "hello"), "/b.txt").ok();
  }

  @Test
  void copiesAndSummarizes() throws IOException {
    Path dest = tmp.resolve("dst.vde");
    String before = Cli.sha256(image);
    Cli.Result r = Cli.run("copy", image, dest, "--add-module", "tags", "--add-module", "SEC,transit",
        "--verify", "--progress=none").ok();
    assertThat(r.stdout()).contains("copied " + image + " to " + dest).contains("MiB/s")
        .contains("times less I/O").contains("modules: SEC,TAGS,TRNS (added SEC,TAGS,TRNS)").contains("verified");
    assertThat(Cli.sha256(image)).isEqualTo(before);
    try (VirtualDisk c = VirtualDisk.open(dest, OpenOptions.readOnlyOptions())) {
      assertThat(c.info().modules()).containsExactly(Module.SECURITY, Module.TAGS, Module.TRANSIT);
      assertThat(c.readFile("/b.txt")).isEqualTo("hello".getBytes());
      assertThat(c.readFile("/docs/a.bin")).hasSize(100_000);
    }
  }

  @Test
  void aSourceWithAPendingMigrationIsRefusedNamingTheImageOnce() throws IOException {
    try (VirtualDisk d = VirtualDisk.open(image)) {
      // Stopped at its first checkpoint, as Ctrl-C would, leaving it pending.
      MigrationControl ctl = new MigrationControl(0, false);
      MigrationOptions o = MigrationOptions.defaults().checkpointEvery(1).control(ctl).listener(p -> ctl.cancel());
      assertThat(InodeMigration.start(d, List.of(Module.TAGS), o).cancelled()).isTrue();
    }
    String err = Cli.run("copy", image, tmp.resolve("dst.vde"), "--progress=none").failsWith(ExitCodes.FAILED)
        .stderr();
    assertThat(err).contains("an inode migration is in progress", "vde migrate resume");
    assertThat(err.split(java.util.regex.Pattern.quote(image.toString()), -1)).as(err).hasSize(2);
    assertThat(tmp.resolve("dst.vde")).doesNotExist();
  }

  @Test
  void aVolumeWithNoFileDataSaysSoInsteadOfARatio() throws IOException {
    Path empty = tmp.resolve("empty.vde");
    Cli.run("create", empty, "--size", "1M").ok();
    String out = Cli.run("copy", empty, tmp.resolve("dst.vde"), "--progress=none").ok().stdout();
    assertThat(out).contains("copied " + empty + " to ").contains("no file data to copy")
        .doesNotContain("times less I/O");
  }

  @Test
  void jsonReportsTheFigures() throws IOException {
    Path dest = tmp.resolve("dst.vde");
    JsonNode j = Cli.run("copy", image, dest, "--json", "--progress=none").ok().json();
    assertThat(j.fieldNames()).toIterable().containsExactly("source", "destination", "modulesAdded", "modules",
        "totalBlocks", "blocksCopied", "blocksSkipped", "blocksRelocated", "extentBlocksAdded", "inodesCopied",
        "bytesCopied", "seconds", "mibPerSecond", "speedupOverNaive", "pauseMillis", "verified");
    assertThat(j.get("totalBlocks").asLong()).isEqualTo(4096);
    assertThat(j.get("blocksCopied").asLong()).isPositive();
    assertThat(j.get("blocksCopied").asLong() + j.get("blocksSkipped").asLong()).isEqualTo(4096);
    assertThat(j.get("modulesAdded")).isEmpty();
    assertThat(j.get("verified").asBoolean()).isFalse();
    // The tool opens the source read-only, so no writer was held off; the whole pass was reported here before.
    assertThat(j.get("pauseMillis").asLong()).isZero();
  }

  @Test
  void progressAsJsonLines() throws IOException {
    Cli.Result r = Cli.run("copy", image, tmp.resolve("dst.vde"), "--progress=json").ok();
    assertThat(r.stderrLines()).isNotEmpty().allSatisfy(l -> assertThat(l).startsWith("{\"phase\":"));
    assertThat(r.stderr()).contains("\"phase\":\"copying\"");
  }

  @Test
  void anExistingDestinationFailsWithExit3UnlessForced() throws IOException {
    Path dest = Files.writeString(tmp.resolve("dst.vde"), "keep me");
    Cli.Result r = Cli.run("copy", image, dest).failsWith(ExitCodes.FAILED);
    assertThat(r.stderr()).contains("already exists");
    assertThat(Files.readString(dest)).isEqualTo("keep me");
    Cli.run("copy", image, dest, "--force").ok();
    try (VirtualDisk c = VirtualDisk.open(dest, OpenOptions.readOnlyOptions())) {
      assertThat(c.readFile("/b.txt")).isEqualTo("hello".getBytes());
    }
  }

  @Test
  void badInputsFailWithOneLine() throws IOException {
    Path dest = tmp.resolve("dst.vde");
    assertThat(Cli.run("copy", image, dest, "--add-module", "bogus").failsWith(ExitCodes.FAILED).stderr())
        .contains("unknown module 'bogus'");
    assertThat(Cli.run("copy", tmp.resolve("missing.vde"), dest).failsWith(ExitCodes.FAILED).stderr())
        .contains("no such file");
    assertThat(Cli.run("copy", image, image, "--force").failsWith(ExitCodes.FAILED).stderr())
        .contains("is the source");
    assertThat(Cli.run("copy", image, tmp.resolve("no/such/dir.vde")).failsWith(ExitCodes.FAILED).stderr())
        .contains("no such directory");
    Cli.run("copy", image, dest, "--max-iops", "-1").failsWith(ExitCodes.USAGE);
    assertThat(Files.exists(dest)).isFalse();
  }

  // /sys reports no size at all (0 total, 0 free). The copy used to blame free space there ("has 0 bytes free"),
  // pointing the user at the wrong problem; the host's own refusal to create the file is the error now.
  @Test
  void aDestinationOnAFileSystemWithoutASizeGetsTheHostsReasonNotNoSpace() throws IOException {
    Path sys = Path.of("/sys");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(sys)
        && Files.getFileStore(sys).getTotalSpace() == 0, "no size-less pseudo file system at /sys here");
    Path dest = sys.resolve("vde-copy-test.vde");
    String err = Cli.run("copy", image, dest).failsWith(ExitCodes.FAILED).stderr();
    assertThat(err).contains(dest.toString()).doesNotContain("bytes free");
    assertThat(Files.exists(dest)).isFalse();
    assertThat(Cli.run("module", "add", image, "tags", "--to", dest).failsWith(ExitCodes.FAILED).stderr())
        .doesNotContain("bytes free");
  }

  // procfs answers "no such file" for a file being created in a directory that is there. create used to say the
  // parent directory does not exist, and copy "no such file or directory", each of /proc itself.
  @Test
  void aFileSystemThatTakesNoNewFilesIsNamedAsSuchNotAsAMissingDirectory() throws IOException {
    Path proc = Path.of("/proc");
    Path dest = proc.resolve("vde-create-test.vde");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(proc) && !Files.exists(dest));
    for (Cli.Result r : List.of(Cli.run("create", dest, "--size", "16M"), Cli.run("copy", image, dest),
        Cli.run("module", "add", image, "tags", "--to", dest))) {
      assertThat(r.failsWith(ExitCodes.FAILED).stderr())
          .contains("the host file system of /proc takes no new files", "(" + dest + ")")
          .doesNotContain("does not exist", "no such directory");
    }
    assertThat(Files.exists(dest)).isFalse();
  }

  // DEST names the new image file. A directory (or a device) there is not "an existing destination" that --force
  // would replace, and a trailing '/' says the user meant a directory: no image file is made under the name
  // without it.
  @Test
  void aDestinationThatNamesADirectoryIsRefusedAsOne() throws IOException {
    Path dir = Files.createDirectory(tmp.resolve("images"));
    for (String force : new String[] {"--progress=none", "--force"}) {
      assertThat(Cli.run("copy", image, dir, force).failsWith(ExitCodes.FAILED).stderr())
          .contains(dir + ": is a directory").doesNotContain("--force");
    }
    Path missing = tmp.resolve("backups");
    assertThat(Cli.run("copy", image, missing + "/").failsWith(ExitCodes.FAILED).stderr())
        .contains(missing + "/: no such directory");
    assertThat(Cli.run("module", "add", image, "tags", "--to", missing + "/").failsWith(ExitCodes.FAILED).stderr())
        .contains(missing + "/: no such directory");
    assertThat(missing).doesNotExist();
    Path plain = Files.writeString(tmp.resolve("plain"), "keep me");
    assertThat(Cli.run("copy", image, plain + "/", "--force").failsWith(ExitCodes.FAILED).stderr())
        .contains(plain + "/: not a directory");
    assertThat(plain).hasContent("keep me");
    assertThat(dir).isEmptyDirectory();
    // Nor is a device an existing image that --force would replace.
    assertThat(Cli.run("copy", image, "/dev/null").failsWith(ExitCodes.FAILED).stderr())
        .contains("/dev/null: not a regular file").doesNotContain("--force");
  }

  /**
   * A destination that is a symbolic link to nothing is DEST's fault, and like every other refusal of DEST it is
   * named alone: the library's message, with the image appended by the command line, pointed at the source.
   */
  @Test
  void aDestinationThatIsALinkToNothingIsRefusedNamingItAlone() throws IOException {
    Path link = Files.createSymbolicLink(tmp.resolve("link.vde"), tmp.resolve("missing.vde"));
    for (String force : new String[] {"--progress=none", "--force"}) {
      String err = Cli.run("copy", image, link, force).failsWith(ExitCodes.FAILED).stderr();
      assertThat(err).contains(link + ": is a symbolic link to a missing file").doesNotContain(image.toString());
      err = Cli.run("module", "add", image, "tags", "--option", "copy", "--to", link, force)
          .failsWith(ExitCodes.FAILED).stderr();
      assertThat(err).contains(link + ": is a symbolic link to a missing file").doesNotContain(image.toString());
    }
    assertThat(tmp.resolve("missing.vde")).doesNotExist();
  }

  @Test
  void aDamagedImageFailsNamingTheBlockAndLeavesNoCopy() throws IOException {
    long block;
    try (VirtualDisk d = VirtualDisk.open(image, OpenOptions.readOnlyOptions())) {
      block = d.volume().readInode(d.stat("/docs/a.bin").inode()).extents().get(0).start();
    }
    byte[] bytes = Files.readAllBytes(image);
    bytes[(int) (block * 4096 + 7)] ^= 1;
    Files.write(image, bytes);
    Path dest = tmp.resolve("dst.vde");
    Cli.Result r = Cli.run("copy", image, dest).failsWith(ExitCodes.FAILED);
    assertThat(r.stderr()).contains(String.format("block %,d (file data)", block));
    assertThat(Files.exists(dest)).isFalse();
  }

  // A destination size the host file system cannot take (ext4: 16 TiB) is the destination's problem: the error
  // must name the destination and the size, not the source image the command also names.
  @Test
  void aDestinationLargerThanTheHostAllowsIsNamedInTheError() throws IOException {
    Path src = tmp.resolve("big-blocks.vde");
    Cli.run("create", src, "--size", "8M", "--block-size", "64K").ok();
    Path probe = tmp.resolve("probe");
    long size = 17L << 40;
    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(probe.toFile(), "rw")) {
      f.setLength(size);
      org.junit.jupiter.api.Assumptions.abort("the host file system takes a sparse file of 17 TiB");
    } catch (IOException expected) {
      // The host refuses the size, as the copy below will find.
    } finally {
      Files.deleteIfExists(probe);
    }
    Path dest = tmp.resolve("dst.vde");
    Cli.Result r = Cli.run("copy", src, dest, "--size", "17T", "--progress=none").failsWith(ExitCodes.FAILED);
    assertThat(r.stderr()).contains(dest.toString()).contains(String.valueOf(size)).contains("--size")
        .doesNotContain("(" + src + ")");
    assertThat(dest).doesNotExist();
  }
}
