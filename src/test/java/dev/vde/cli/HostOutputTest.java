package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where the tool's output goes wrong on the host's side: standard output that cannot be written, a destination
 * that fills up, a host name the JVM cannot use, a size that is not known; and what the README promises about them.
 */
class HostOutputTest {
  @TempDir
  Path tmp;

  private Path image;
  private Path big;

  @BeforeEach
  void setUp() throws IOException {
    image = tmp.resolve("host.vde");
    Cli.run("create", image, "--size", "16M").ok();
    byte[] data = new byte[3_000_000];
    new Random(6).nextBytes(data);
    big = Files.write(tmp.resolve("big.bin"), data);
    Cli.run("put", image, big, "/big.bin").ok();
  }

  /** Like a file on a full disk: takes {@code room} bytes, then every write fails. */
  private static OutputStream fullDisk(int room) {
    return new OutputStream() {
      private int written;

      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        if (written + len > room) {
          throw new IOException("No space left on device");
        }
        written += len;
      }
    };
  }

  private static int run(PrintStream out, ByteArrayOutputStream err, String... args) {
    return Main.run(args, out, new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  // A PrintStream keeps its write errors to itself: a 'get -' cut short by a full disk used to exit 0.
  @Test
  void outputLostOnStandardOutputFailsTheCommand() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = run(new PrintStream(fullDisk(64 * 1024), true), err, "get", image.toString(), "/big.bin", "-");
    assertThat(code).as("stderr: %s", err).isEqualTo(ExitCodes.FAILED);
    assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("vde: cannot write standard output");

    ByteArrayOutputStream err2 = new ByteArrayOutputStream();
    assertThat(run(new PrintStream(fullDisk(0), true), err2, "info", image.toString(), "--json"))
        .as("stderr: %s", err2).isEqualTo(ExitCodes.FAILED);
  }

  // A reader that went away ('vde get IMAGE /f - | head') must stop the copy, not have the whole file read into a
  // stream that drops it: for a large file that is minutes of reading (a sparse 1 TiB file took over a minute).
  @Test
  void aClosedStandardOutputStopsTheCopyAtOnce() throws IOException {
    try (dev.vde.fs.VirtualDisk d = dev.vde.fs.VirtualDisk.open(image)) {
      d.writeFile("/sparse.bin", new byte[0]);
      d.truncate("/sparse.bin", 1L << 30);
    }
    long[] offered = {0};
    OutputStream closedPipe = new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        offered[0] += len;
        throw new IOException("Broken pipe");
      }
    };
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = run(new PrintStream(closedPipe, true), err, "get", image.toString(), "/sparse.bin", "-");
    assertThat(code).as("stderr: %s", err).isEqualTo(ExitCodes.FAILED);
    assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("vde: cannot write standard output");
    assertThat(offered[0]).as("bytes handed to standard output after it failed").isLessThan(64L << 20);
  }

  @Test
  void aFullDestinationIsNamedNotTheImage() {
    Path full = Path.of("/dev/full");
    Assumptions.assumeTrue(Files.exists(full), "/dev/full exists");
    Cli.Result r = Cli.run("get", image, "/big.bin", full).failsWith(ExitCodes.FAILED);
    assertThat(r.stderr()).contains("/dev/full").contains("cannot write").doesNotContain(image.toString());
  }

  @Test
  void aHostNameTheJvmRejectsIsABadArgumentNotAnInternalError() {
    Cli.Result r = Cli.run("get", image, "/big.bin", tmp.resolve("a") + "\u0000b").failsWith(ExitCodes.FAILED);
    assertThat(r.stderr()).contains("cannot use").contains("as a host file name");
  }

  // Under LANG=C the JVM cannot map a non-ASCII name; the launcher picks C.UTF-8, and a JVM started otherwise
  // says what to do instead of reporting an internal error.
  @Test
  void aNonAsciiHostNameUnderTheCLocaleGetsAClearError() throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "dev.vde.cli.Main",
        "get", image.toString(), "/big.bin", tmp.resolve("gr\u00fc\u00dfe.bin").toString()));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD);
    pb.environment().put("LC_ALL", "C");
    pb.environment().put("LANG", "C");
    Process child = pb.start();
    String stderr;
    try (InputStream in = child.getErrorStream()) {
      stderr = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(child.exitValue()).as("stderr: %s", stderr).isNotEqualTo(ExitCodes.INTERNAL_ERROR);
    assertThat(stderr).doesNotContain("internal error");
  }

  // README: in --progress json lines, total and etaSeconds are null when unknown (standard input has no size).
  @Test
  void progressOfAPutFromStandardInputHasNoTotalAndNoEta() throws IOException {
    InputStream saved = System.in;
    Cli.Result r;
    try {
      System.setIn(new ByteArrayInputStream(Files.readAllBytes(big)));
      r = Cli.run("put", image, "-", "/from-stdin.bin", "--progress", "json").ok();
    } finally {
      System.setIn(saved);
    }
    List<String> lines = r.stderrLines();
    assertThat(lines).isNotEmpty();
    JsonNode last = Cli.parse(lines.get(lines.size() - 1));
    assertThat(last.get("done").asLong()).isEqualTo(3_000_000L);
    assertThat(last.get("total").isNull()).as("%s", last).isTrue();
    assertThat(last.get("etaSeconds").isNull()).as("%s", last).isTrue();
  }

  // A failure to read what put copies (a host file on a failing disk, standard input) was worded as a failure of the
  // host file system under the image, "host file system: Input/output error (host.vde)": the image was fine.
  @Test
  void aSourceThatFailsToReadIsNamedNotTheImage() throws IOException {
    InputStream saved = System.in;
    Cli.Result r;
    try {
      System.setIn(new InputStream() {
        private int left = 100_000;

        @Override
        public int read() throws IOException {
          byte[] one = new byte[1];
          return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          if (left <= 0) {
            throw new IOException("Input/output error");
          }
          int n = Math.min(len, left);
          left -= n;
          return n;
        }
      });
      r = Cli.run("put", image, "-", "/new/dir/from-stdin.bin").failsWith(ExitCodes.FAILED);
    } finally {
      System.setIn(saved);
    }
    assertThat(r.stderr()).contains("standard input").contains("Input/output error")
        .doesNotContain(image.toString()).doesNotContain("host file system");
    assertThat(Cli.run("ls", image, "/new").failsWith(ExitCodes.FAILED).stderr()).contains("no such file");

    Path mem = Path.of("/proc/self/mem");
    Assumptions.assumeTrue(Files.isRegularFile(mem), "/proc/self/mem, which fails to read at offset 0");
    r = Cli.run("put", image, mem, "/mem").failsWith(ExitCodes.FAILED);
    assertThat(r.stderr()).contains(mem.toString()).contains("cannot read").doesNotContain(image.toString());
  }

  // README: text output shows control characters in tags escaped; --json carries the exact text.
  @Test
  void tagGetEscapesControlCharactersAndItsJsonIsExact() throws IOException {
    Path tagged = tmp.resolve("tags.vde");
    Cli.run("create", tagged, "--size", "8M", "--modules", "tags").ok();
    Cli.run("put", tagged, big, "/f").ok();
    Cli.run("tag", "set", tagged, "/f", "k=red\u001b[31m\nnext").ok();
    assertThat(Cli.run("tag", "ls", tagged, "/f").ok().stdout()).doesNotContain("\u001b");
    assertThat(Cli.run("tag", "get", tagged, "/f", "k").ok().stdout()).isEqualTo("red\\x1b[31m\\nnext\n");
    assertThat(Cli.parse(Cli.run("tag", "get", tagged, "/f", "k", "--json").ok().stdout()).asText())
        .isEqualTo("red\u001b[31m\nnext");
  }

  @Test
  void theReadmeGivesTheExitCodeLsHasOnADamagedImage() throws IOException {
    Cli.run("put", image, big, "/b/y").ok();
    long dirBlock;
    try (dev.vde.fs.VirtualDisk d = dev.vde.fs.VirtualDisk.open(image)) {
      dirBlock = d.volume().readInode(d.stat("/b").inode()).extents().get(0).start();
    }
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(image,
        java.nio.file.StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(new byte[] {0x77}), dirBlock * 4096 + 40);
    }
    int code = Cli.run("ls", image, "/", "-R").exitCode();
    Path readme = Path.of("README.md");
    Assumptions.assumeTrue(Files.exists(readme), "run from the repository root");
    Matcher m = Pattern.compile("On a damaged image `ls` lists what it can and exits (\\d+)")
        .matcher(Files.readString(readme));
    assertThat(m.find()).as("the README sentence").isTrue();
    assertThat(Integer.parseInt(m.group(1))).isEqualTo(code).isEqualTo(ExitCodes.FAILED);
  }
}
