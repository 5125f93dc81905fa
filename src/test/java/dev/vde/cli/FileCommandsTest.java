package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** put, get, ls, mkdir, rm and fsck on a real image, checked byte for byte. */
class FileCommandsTest {
  private static final int BLOCK = 4096;

  @TempDir
  Path tmp;

  private Path image;

  @BeforeEach
  void createImage() {
    image = tmp.resolve("files.vde");
    Cli.run("create", image, "--size", "64M").ok();
  }

  /** Writes a host file of {@code size} deterministic bytes. */
  private Path hostFile(String name, int size, long seed) throws IOException {
    byte[] data = new byte[size];
    new SplittableRandom(seed).nextBytes(data);
    Path file = tmp.resolve("host").resolve(name);
    Files.createDirectories(file.getParent());
    return Files.write(file, data);
  }

  /** Sizes that cover the edges: empty, one byte, around one block, several blocks, over a MiB. */
  private static int sizeOf(int i, SplittableRandom random) {
    int[] edges = {0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 17, (1 << 20) + 5, 2 << 20};
    return i < edges.length ? edges[i] : random.nextInt(0, 64 * 1024);
  }

  @Test
  void roundTripOfHundredsOfFilesThroughPutGetAndLs() throws IOException {
    SplittableRandom random = new SplittableRandom(7);
    Map<String, Path> stored = new LinkedHashMap<>();
    for (int i = 0; i < 300; i++) {
      String vdePath = "/set/d" + (i % 7) + "/sub" + (i % 3) + "/f" + i + ".bin";
      Path host = hostFile("f" + i + ".bin", sizeOf(i, random), i);
      Cli.run("put", image, host, vdePath).ok();
      stored.put(vdePath, host);
    }

    JsonNode listing = Cli.run("ls", image, "/", "-R", "--json").ok().json();
    Map<String, Long> listedFiles = new TreeMap<>();
    int directories = 0;
    for (JsonNode item : listing) {
      assertThat(item.fieldNames()).toIterable().containsExactly("path", "type", "size");
      if (item.get("type").asText().equals("file")) {
        listedFiles.put(item.get("path").asText(), item.get("size").asLong());
      } else {
        assertThat(item.get("type").asText()).isEqualTo("directory");
        directories++;
      }
    }
    Map<String, Long> expected = new TreeMap<>();
    for (Map.Entry<String, Path> e : stored.entrySet()) {
      expected.put(e.getKey(), Files.size(e.getValue()));
    }
    assertThat(listedFiles).isEqualTo(expected);
    assertThat(directories).isEqualTo(1 + 7 + 7 * 3);

    Path back = Files.createDirectories(tmp.resolve("back"));
    for (Map.Entry<String, Path> e : stored.entrySet()) {
      Path copy = back.resolve(e.getValue().getFileName());
      Cli.run("get", image, e.getKey(), copy).ok();
      assertThat(Files.mismatch(copy, e.getValue())).as(e.getKey()).isEqualTo(-1L);
    }

    JsonNode fsck = Cli.run("fsck", image, "--json").ok().json();
    assertThat(fsck.get("clean").asBoolean()).isTrue();
    assertThat(fsck.get("problems")).isEmpty();
  }

  @Test
  void getWithDashWritesTheBytesToStdout() throws IOException {
    Path host = hostFile("blob.bin", 3 * BLOCK + 5, 1);
    Cli.run("put", image, host, "/blob.bin").ok();
    Cli.Result r = Cli.run("get", image, "/blob.bin", "-").ok();
    assertThat(r.stdoutBytes()).isEqualTo(Files.readAllBytes(host));
    assertThat(r.stderr()).isEmpty();
  }

  @Test
  void putReplacesAnExistingFile() throws IOException {
    Cli.run("put", image, hostFile("one", 10_000, 1), "/doc").ok();
    Path second = hostFile("two", 300, 2);
    Cli.run("put", image, second, "/doc").ok();
    assertThat(Cli.run("get", image, "/doc", "-").ok().stdoutBytes()).isEqualTo(Files.readAllBytes(second));
  }

  @Test
  void putIntoADirectoryKeepsTheHostName() throws IOException {
    Cli.run("mkdir", image, "/inbox").ok();
    Path host = hostFile("report.txt", 42, 3);
    Cli.run("put", image, host, "/inbox").ok();
    Cli.run("put", image, host, "/new/").ok();
    JsonNode items = Cli.run("ls", image, "-R", "--json").ok().json();
    List<String> paths = items.findValuesAsText("path");
    assertThat(paths).contains("/inbox/report.txt", "/new/report.txt");
  }

  // 'vde get IMAGE /docs/a/ -' printed the file /docs/a; rm, mv, ls and tag took '/docs/a/' as the file too.
  @Test
  void aTrailingSlashOnAFile_isNotADirectory_andChangesNothing() throws IOException {
    Path host = hostFile("a", 100, 8);
    Cli.run("put", image, host, "/docs/a").ok();
    Cli.run("mkdir", image, "/dir").ok();
    Cli.run("module", "add", image, "tags").ok();
    Cli.run("tag", "set", image, "/docs/a", "k=v").ok();
    String before = Cli.sha256(image);
    List<List<Object>> commands = List.of(
        List.of("get", image, "/docs/a/", "-"),
        List.of("get", image, "docs/a//", tmp.resolve("out").toString()),
        List.of("ls", image, "/docs/a/"),
        List.of("rm", image, "/docs/a/"),
        List.of("mv", image, "/docs/a/", "/b"),
        List.of("tag", "get", image, "/docs/a/", "k"),
        List.of("tag", "ls", image, "/docs/a/"),
        List.of("tag", "set", image, "/docs/a/", "k=w"),
        List.of("tag", "rm", image, "/docs/a/", "k"));
    for (List<Object> c : commands) {
      assertThat(Cli.run(c.toArray()).failsWith(3).stderr()).as(c.toString())
          .contains(": /docs/a is not a directory");
    }
    assertThat(Cli.sha256(image)).isEqualTo(before);
    assertThat(tmp.resolve("out")).doesNotExist();
    // On a directory the slash keeps working.
    assertThat(Cli.run("ls", image, "/docs/", "--json").ok().json().findValuesAsText("path"))
        .containsExactly("/docs/a");
    Cli.run("mv", image, "/dir/", "/dir2").ok();
    Cli.run("rm", image, "/dir2/").ok();
    assertThat(Cli.run("get", image, "/docs/a", "-").ok().stdoutBytes()).isEqualTo(Files.readAllBytes(host));
  }

  @Test
  void namesWithLeadingOrTrailingSpaces_areTakenAsWritten_andNeverMeanAnotherFile() throws IOException {
    Path plain = hostFile("report", 10, 5);
    Path spaced = hostFile("report ", 20, 6);
    Cli.run("put", image, plain, "/docs/").ok();
    // Into a directory the host file keeps its name, trailing space included.
    Cli.run("put", image, spaced, "/docs/").ok();
    Cli.run("put", image, hostFile("other", 30, 7), "/docs/ lead").ok();
    assertThat(Cli.run("ls", image, "/docs", "--json").ok().json().findValuesAsText("path"))
        .containsExactlyInAnyOrder("/docs/report", "/docs/report ", "/docs/ lead");

    assertThat(Cli.run("get", image, "/docs/report ", "-").ok().stdoutBytes()).isEqualTo(Files.readAllBytes(spaced));
    assertThat(Cli.run("get", image, "/docs/report", "-").ok().stdoutBytes()).isEqualTo(Files.readAllBytes(plain));
    Cli.run("rm", image, "/docs/report ").ok();
    assertThat(Cli.run("ls", image, "/docs", "--json").ok().json().findValuesAsText("path"))
        .containsExactlyInAnyOrder("/docs/report", "/docs/ lead");
    assertThat(Cli.run("get", image, "/docs/report", "-").ok().stdoutBytes()).isEqualTo(Files.readAllBytes(plain));
    Cli.run("mkdir", image, "/docs ").ok();
    assertThat(Cli.run("ls", image, "/", "--json").ok().json().findValuesAsText("path"))
        .containsExactlyInAnyOrder("/docs", "/docs ");
    assertThat(Cli.run("fsck", image, "--json").ok().json().get("clean").asBoolean()).isTrue();
  }

  @Test
  void getIntoAHostDirectoryKeepsTheVdeName() throws IOException {
    Path host = hostFile("x.bin", 100, 4);
    Cli.run("put", image, host, "/a/b/c.bin").ok();
    Path dir = Files.createDirectories(tmp.resolve("out"));
    Cli.run("get", image, "a/b/c.bin", dir).ok();
    assertThat(Files.mismatch(dir.resolve("c.bin"), host)).isEqualTo(-1L);
  }

  @Test
  void lsTextShowsAlignedTypeSizeAndPath() throws IOException {
    Cli.run("put", image, hostFile("s", 5, 1), "/d/small").ok();
    Cli.run("put", image, hostFile("l", 123_456, 2), "/d/large").ok();
    Cli.run("mkdir", image, "/d/sub").ok();
    List<String> lines = Cli.run("ls", image, "/d").ok().stdout().lines().toList();
    assertThat(lines).hasSize(3);
    assertThat(lines.get(0)).startsWith("file").endsWith("/d/large").contains("123456");
    assertThat(lines.get(1)).startsWith("file").endsWith("/d/small");
    assertThat(lines.get(2)).startsWith("directory").endsWith("/d/sub");
    assertThat(lines.stream().map(l -> l.indexOf('/')).distinct()).as("paths start in one column").hasSize(1);

    List<String> one = Cli.run("ls", image, "/d/large").ok().stdout().lines().toList();
    assertThat(one).hasSize(1);
    assertThat(one.get(0)).contains("123456");
  }

  @Test
  void mkdirNeedsParentsUnlessTold() throws IOException {
    String before = Cli.sha256(image);
    assertThat(Cli.run("mkdir", image, "/a/b/c").failsWith(ExitCodes.FAILED).stderr()).contains("/a");
    assertThat(Cli.sha256(image)).isEqualTo(before);

    Cli.run("mkdir", image, "-p", "/a/b/c").ok();
    Cli.run("mkdir", image, "-p", "/a/b/c").ok();
    Cli.run("mkdir", image, "/a/b/d").ok();
    Cli.run("mkdir", image, "/a/b/d").failsWith(ExitCodes.FAILED);
    assertThat(Cli.run("ls", image, "/a/b", "--json").ok().json().findValuesAsText("path"))
        .containsExactly("/a/b/c", "/a/b/d");
  }

  @Test
  void rmRemovesFilesAndDirectoriesOnlyRecursivelyWhenTold() throws IOException {
    Cli.run("put", image, hostFile("f", 10, 1), "/t/one/f").ok();
    Cli.run("put", image, hostFile("g", 20_000, 2), "/t/two/g").ok();
    Cli.run("mkdir", image, "/empty").ok();

    String before = Cli.sha256(image);
    assertThat(Cli.run("rm", image, "/t").failsWith(ExitCodes.FAILED).stderr()).contains("not empty")
        .contains("-r");
    assertThat(Cli.sha256(image)).isEqualTo(before);

    Cli.run("rm", image, "/t/one/f").ok();
    Cli.run("rm", image, "/empty").ok();
    Cli.run("rm", image, "-r", "/t").ok();
    assertThat(Cli.run("ls", image, "-R", "--json").ok().json()).isEmpty();
    assertThat(Cli.run("fsck", image, "--json").ok().json().get("clean").asBoolean()).isTrue();
  }

  @Test
  void rmRecursiveCommitsTheWholeTreeTogetherInsteadOfOnceAnEntry() throws IOException {
    try (VirtualDisk disk = VirtualDisk.open(image)) {
      disk.batch(d -> {
        for (int i = 0; i < 10; i++) {
          d.mkdirs("/tree/d" + i);
        }
        for (int i = 0; i < 300; i++) {
          d.writeFile("/tree/d" + (i % 10) + "/f" + i, new byte[] {(byte) i});
        }
      });
      disk.writeFile("/kept", new byte[] {42});
    }
    long before = checkpointTxId();

    Cli.run("rm", image, "-r", "/tree").ok();

    // Every WAL transaction takes the next id, and close checkpoints up to the last one: one delete per
    // transaction would have used 311 of them.
    assertThat(checkpointTxId() - before).as("WAL transactions written by rm -r").isLessThan(5);
    assertThat(Cli.run("ls", image, "-R", "--json").ok().json().findValuesAsText("path")).containsExactly("/kept");
    assertThat(Cli.run("fsck", image, "--json").ok().json().get("clean").asBoolean()).isTrue();
  }

  private long checkpointTxId() throws IOException {
    try (VirtualDisk disk = VirtualDisk.open(image, OpenOptions.readOnlyOptions())) {
      return disk.volume().superblock().checkpointTxId();
    }
  }

  @Test
  void rmRefusesTheRoot() throws IOException {
    String before = Cli.sha256(image);
    Cli.run("rm", image, "-r", "/").failsWith(ExitCodes.FAILED);
    assertThat(Cli.sha256(image)).isEqualTo(before);
  }

  @Test
  void fsckTextSaysClean() {
    assertThat(Cli.run("fsck", image).ok().stdout()).startsWith("clean");
  }

  @Test
  void putAndGetReportJsonProgressOnStderr() throws IOException {
    Path host = hostFile("big.bin", 3 << 20, 9);
    Cli.Result put = Cli.run("put", image, host, "/big.bin", "--progress=json").ok();
    assertProgressLines(put.stderr(), "writing", 3 << 20);

    Cli.Result get = Cli.run("get", image, "/big.bin", tmp.resolve("big.copy"), "--progress", "json").ok();
    assertProgressLines(get.stderr(), "reading", 3 << 20);
    assertThat(Files.mismatch(tmp.resolve("big.copy"), host)).isEqualTo(-1L);
  }

  @Test
  void fsckReportsJsonProgressOnStderr() throws IOException {
    Cli.Result r = Cli.run("fsck", image, "--json", "--progress=json").ok();
    assertThat(r.json().get("clean").asBoolean()).isTrue();
    for (String line : r.stderrLines()) {
      assertThat(Cli.parse(line).fieldNames()).toIterable()
          .containsExactly("phase", "done", "total", "unit", "rate", "etaSeconds");
    }
  }

  @Test
  void withoutATerminalThereIsNoProgressOutput() throws IOException {
    Path host = hostFile("quiet.bin", 1 << 20, 5);
    assertThat(Cli.run("put", image, host, "/quiet.bin").ok().stderr()).isEmpty();
    assertThat(Cli.run("fsck", image).ok().stderr()).isEmpty();
  }

  private static void assertProgressLines(String stderr, String phase, long total) throws IOException {
    List<String> lines = stderr.lines().toList();
    assertThat(lines).isNotEmpty();
    JsonNode last = null;
    for (String line : lines) {
      last = Cli.parse(line);
      assertThat(last.get("phase").asText()).isEqualTo(phase);
      assertThat(last.get("unit").asText()).isEqualTo("bytes");
      assertThat(last.get("total").asLong()).isEqualTo(total);
      assertThat(last.has("rate")).isTrue();
      assertThat(last.has("etaSeconds")).isTrue();
    }
    assertThat(last.get("done").asLong()).isEqualTo(total);
  }

  // ---------------------------------------------------------------- get: what it may replace

  @Test
  void getOntoTheImageItself_isRefusedAndTheImageStays() throws IOException {
    Cli.run("put", image, hostFile("a", 100, 1), "/a").ok();
    Cli.run("get", image, "/a", image).failsWith(ExitCodes.FAILED);
    Path link = tmp.resolve("link-to-image");
    Files.createSymbolicLink(link, image);
    Cli.run("get", image, "/a", link).failsWith(ExitCodes.FAILED);
    Cli.run("fsck", image).ok();
    assertThat(Files.isSymbolicLink(link)).isTrue();
  }

  @Test
  void getThroughASymbolicLink_replacesTheTargetAndKeepsTheLink() throws IOException {
    Path data = hostFile("b", 5000, 2);
    Cli.run("put", image, data, "/b").ok();
    Path target = Files.writeString(tmp.resolve("old.txt"), "old");
    Path link = tmp.resolve("link.txt");
    Files.createSymbolicLink(link, target.getFileName());
    Cli.run("get", image, "/b", link).ok();
    assertThat(Files.isSymbolicLink(link)).isTrue();
    assertThat(Files.readAllBytes(target)).isEqualTo(Files.readAllBytes(data));
  }

  @Test
  void getOntoADevice_writesThroughItInsteadOfReplacingIt() throws IOException {
    Path devNull = Path.of("/dev/null");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(devNull) && !Files.isRegularFile(devNull));
    Cli.run("put", image, hostFile("c", 3000, 3), "/c").ok();
    Cli.run("get", image, "/c", devNull).ok();
    assertThat(Files.isRegularFile(devNull)).as("still a device").isFalse();
    assertThat(Files.exists(devNull)).isTrue();
  }

  // Every name under /dev/ was taken for a device or a descriptor and written to in append mode: a regular file in
  // /dev/shm (a tmpfs many use for scratch files) kept its old bytes with the new ones after them, and get said 0.
  @Test
  void getOntoARegularFileUnderDev_replacesItLikeAnyOtherFile() throws IOException {
    Path shm = Path.of("/dev/shm");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm), "/dev/shm");
    Path data = hostFile("shm", 5000, 12);
    Cli.run("put", image, data, "/shm").ok();
    Path target = shm.resolve("vde-get-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    try {
      Files.writeString(target, "old content");
      Cli.run("get", image, "/shm", target).ok();
      assertThat(Files.size(target)).isEqualTo(5000);
      assertThat(Cli.sha256(target)).isEqualTo(Cli.sha256(data));
    } finally {
      Files.deleteIfExists(target);
    }
  }

  @Test
  void getReplacingAFile_keepsItsPermissions() throws IOException {
    Path data = hostFile("d", 700, 4);
    Cli.run("put", image, data, "/d").ok();
    Path target = Files.writeString(tmp.resolve("private.txt"), "secret");
    java.util.Set<java.nio.file.attribute.PosixFilePermission> mode =
        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------");
    Files.setPosixFilePermissions(target, mode);
    Cli.run("get", image, "/d", target).ok();
    assertThat(Files.readAllBytes(target)).isEqualTo(Files.readAllBytes(data));
    assertThat(Files.getPosixFilePermissions(target)).isEqualTo(mode);
  }

  // The permissions of the file replaced were given to the new one only after the whole file had been written into
  // it: while get copied, a private file's new content lay in a file anyone could read.
  @Test
  void getReplacingAPrivateFile_neverLeavesItsContentReadableByOthersWhileItCopies() throws IOException {
    Path data = hostFile("private-data", 3 << 20, 13);
    Cli.run("put", image, data, "/private").ok();
    Path dir = Files.createDirectories(tmp.resolve("private-dir"));
    Path target = Files.writeString(dir.resolve("secret.txt"), "secret");
    java.util.Set<java.nio.file.attribute.PosixFilePermission> mode =
        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------");
    Files.setPosixFilePermissions(target, mode);
    // Each progress line is written while the copy runs: the moment to look at the file being written.
    List<String> seen = new java.util.ArrayList<>();
    java.io.OutputStream watcher = new java.io.OutputStream() {
      @Override
      public void write(int b) throws IOException {
        if (b != '\n') {
          return;
        }
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
          for (Path p : files.filter(p -> !p.equals(target)).toList()) {
            seen.add(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(p)));
          }
        }
      }
    };
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    int code = Main.run(new String[] {"get", image.toString(), "/private", target.toString(), "--progress", "json"},
        new java.io.PrintStream(out, true), new java.io.PrintStream(watcher, true));
    assertThat(code).isZero();
    assertThat(seen).as("the partial file's permissions while it was written").isNotEmpty()
        .allMatch("rw-------"::equals);
    assertThat(Cli.sha256(target)).isEqualTo(Cli.sha256(data));
    assertThat(Files.getPosixFilePermissions(target)).isEqualTo(mode);
  }

  @Test
  void getOntoAFileLockedByAnotherEngine_isRefusedAndLeavesIt() throws IOException {
    Cli.run("put", image, hostFile("e", 700, 5), "/e").ok();
    Path other = tmp.resolve("other.vde");
    Files.writeString(other, "in use");
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(other,
        java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE);
        java.nio.channels.FileLock held = ch.lock()) {
      Cli.run("get", image, "/e", other).failsWith(ExitCodes.FAILED);
      assertThat(Files.readString(other)).isEqualTo("in use");
    }
  }

  // ---------------------------------------------------------------- put: streams without a size

  @Test
  void putFromAPipe_storesWhatFlowedThrough() throws Exception {
    Path fifo = tmp.resolve("pipe");
    Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
    org.junit.jupiter.api.Assumptions.assumeTrue(mk.waitFor() == 0, "mkfifo is available");
    byte[] data = new byte[300_000];
    new SplittableRandom(11).nextBytes(data);
    Thread writer = new Thread(() -> {
      try {
        Files.write(fifo, data);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    writer.start();
    Cli.run("put", image, fifo, "/from-pipe").ok();
    writer.join(10_000);
    Path back = tmp.resolve("back");
    Cli.run("get", image, "/from-pipe", back).ok();
    assertThat(Files.readAllBytes(back)).isEqualTo(data);
  }

  @Test
  void putFromStandardInput_needsAFileName() throws Exception {
    byte[] data = "from standard input".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    java.io.InputStream saved = System.in;
    try {
      System.setIn(new java.io.ByteArrayInputStream(data));
      Cli.run("put", image, "-", "/stdin.txt").ok();
      System.setIn(new java.io.ByteArrayInputStream(data));
      Cli.run("put", image, "-", "/").failsWith(ExitCodes.FAILED);
      // A file named '-' is a file name like any other when VDE_PATH names it: it was refused as a directory.
      System.setIn(new java.io.ByteArrayInputStream(data));
      Cli.run("put", image, "-", "/dash/-").ok();
      assertThat(Cli.run("ls", image, "/dash/-", "--json").ok().json().get(0).get("size").asLong())
          .isEqualTo(data.length);
      System.setIn(new java.io.ByteArrayInputStream(data));
      assertThat(Cli.run("put", image, "-", "/dash").failsWith(ExitCodes.FAILED).stderr()).contains("must name");
    } finally {
      System.setIn(saved);
    }
    Path back = tmp.resolve("stdin-back");
    Cli.run("get", image, "/stdin.txt", back).ok();
    assertThat(Files.readAllBytes(back)).isEqualTo(data);
  }

  @Test
  void lsRecursive_listsWhatItCanAroundADamagedDirectory() throws IOException {
    Cli.run("put", image, hostFile("x", 10, 20), "/a/x").ok();
    Cli.run("put", image, hostFile("y", 10, 21), "/b/y").ok();
    Cli.run("put", image, hostFile("z", 10, 22), "/c/z").ok();
    long dirBlock;
    try (dev.vde.fs.VirtualDisk d = dev.vde.fs.VirtualDisk.open(image)) {
      dirBlock = d.volume().readInode(d.stat("/b").inode()).extents().get(0).start();
    }
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(image,
        java.nio.file.StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(new byte[] {0x77}), dirBlock * BLOCK + 40);
    }
    Cli.Result r = Cli.run("ls", image, "/", "-R").failsWith(ExitCodes.FAILED);
    assertThat(r.stdout()).contains("/a/x").contains("/c/z").contains("/b").doesNotContain("/b/y");
    assertThat(r.stderr()).contains("1 entry could not be read")
        .contains(String.format("block %,d", dirBlock));
  }

  @Test
  void ls_namesEveryEntryOfADirectory_whenSomeOfTheirInodesAreInADamagedBlock() throws IOException {
    Cli.run("mkdir", image, "/d").ok();
    for (int i = 0; i < 30; i++) {
      Cli.run("put", image, hostFile("f" + i, 10 + i, 40 + i), "/d/f" + i).ok();
    }
    long tableBlock;
    long perBlock;
    try (dev.vde.fs.VirtualDisk d = dev.vde.fs.VirtualDisk.open(image)) {
      perBlock = BLOCK / d.volume().superblock().inodeSize();
      long ino = d.stat("/d/f29").inode();
      tableBlock = d.volume().regions().find(dev.vde.format.RegionDirectory.TAG_INODES).start() + ino / perBlock;
    }
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(image,
        java.nio.file.StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(new byte[] {0x5a}), tableBlock * BLOCK + 100);
    }
    Cli.Result r = Cli.run("ls", image, "/d").failsWith(ExitCodes.FAILED);
    List<String> lines = r.stdout().lines().toList();
    for (int i = 0; i < 30; i++) {
      String path = " /d/f" + i;
      assertThat(lines).as(path).anyMatch(l -> l.endsWith(path));
    }
    assertThat(lines).anyMatch(l -> l.matches("file +\\? +/d/f29")).anyMatch(l -> l.matches("file +10 +/d/f0"));
    assertThat(r.stderr()).contains("could not be read").contains(String.format("block %,d", tableBlock));
    Cli.Result json = Cli.run("ls", image, "/d", "--json").failsWith(ExitCodes.FAILED);
    assertThat(json.stdout()).contains("\"size\" : null").contains("\"size\" : 10");
  }

  @Test
  void getOntoAFileHeldWithASharedLock_isRefused_andANamedMissingDirectoryIsAnError() throws IOException {
    Cli.run("put", image, hostFile("s", 70, 30), "/s").ok();
    Path other = Files.writeString(tmp.resolve("shared.vde"), "read by someone");
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(other,
        java.nio.file.StandardOpenOption.READ);
        java.nio.channels.FileLock shared = ch.lock(0, Long.MAX_VALUE, true)) {
      assertThat(Cli.run("get", image, "/s", other).failsWith(ExitCodes.FAILED).stderr()).contains("in use");
      assertThat(Files.readString(other)).isEqualTo("read by someone");
    }
    Cli.run("get", image, "/s", tmp.resolve("nodir") + "/").failsWith(ExitCodes.FAILED);
    assertThat(tmp.resolve("nodir")).doesNotExist();
  }

  @Test
  void copyForceOntoAPipe_isRefused_andThroughALinkReplacesTheTargetKeepingItsMode() throws Exception {
    Path fifo = tmp.resolve("pipe.vde");
    Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
    org.junit.jupiter.api.Assumptions.assumeTrue(mk.waitFor() == 0, "mkfifo is available");
    Cli.run("copy", image, fifo, "--force", "--progress", "none").failsWith(ExitCodes.FAILED);
    assertThat(Files.isRegularFile(fifo)).as("still a pipe").isFalse();

    Path target = Files.writeString(tmp.resolve("old-image.vde"), "old");
    java.util.Set<java.nio.file.attribute.PosixFilePermission> mode =
        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------");
    Files.setPosixFilePermissions(target, mode);
    Path link = tmp.resolve("current.vde");
    Files.createSymbolicLink(link, target.getFileName());
    Cli.run("copy", image, link, "--force", "--progress", "none").ok();
    assertThat(Files.isSymbolicLink(link)).isTrue();
    assertThat(Files.getPosixFilePermissions(target)).isEqualTo(mode);
    Cli.run("fsck", target).ok();
  }

  @Test
  void controlCharactersInNamesAreShownEscapedInText_andExactInJson() throws IOException {
    Cli.run("put", image, hostFile("n", 5, 40), "/two\nlines\u001b[31m").ok();
    List<String> text = Cli.run("ls", image, "/").ok().stdout().lines().toList();
    assertThat(text).hasSize(1);
    assertThat(text.get(0)).endsWith("/two\\nlines\\x1b[31m").doesNotContain("\u001b");
    JsonNode json = Cli.run("ls", image, "/", "--json").ok().json();
    assertThat(json.get(0).get("path").asText()).isEqualTo("/two\nlines\u001b[31m");
  }

  /**
   * A name holding a backslash and an 'n' showed as "a\nb", exactly as a name holding a newline does, so that two
   * files in one directory listed as the same name, and an error about one could be about the other.
   */
  @Test
  void aBackslashInANameIsShownDoubled_soItNeverReadsAsAnEscapedControlCharacter() throws IOException {
    Path data = hostFile("b", 3, 41);
    Cli.run("put", image, data, "/d/a\\nb").ok();
    Cli.run("put", image, data, "/d/a\nb").ok();
    List<String> text = Cli.run("ls", image, "/d").ok().stdout().lines().toList();
    assertThat(text).hasSize(2);
    assertThat(text.get(0)).endsWith(" /d/a\\nb");
    assertThat(text.get(1)).endsWith(" /d/a\\\\nb");
    assertThat(Cli.run("ls", image, "/", "-R").ok().stdout().lines().toList()).hasSize(3).doesNotHaveDuplicates();

    JsonNode json = Cli.run("ls", image, "/d", "--json").ok().json();
    assertThat(json.get(0).get("path").asText()).isEqualTo("/d/a\nb");
    assertThat(json.get(1).get("path").asText()).isEqualTo("/d/a\\nb");

    // Error lines name paths the same way: the user's word for each of the two names stays told apart.
    String newline = Cli.run("rm", image, "/d/a\nb/x").failsWith(ExitCodes.FAILED).stderr();
    String backslash = Cli.run("rm", image, "/d/a\\nb/x").failsWith(ExitCodes.FAILED).stderr();
    assertThat(newline).contains("/d/a\\nb/x").doesNotContain("\\\\");
    assertThat(backslash).contains("/d/a\\\\nb/x");
  }
}
