package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.vde.VdeCorruptedException;
import dev.vde.VdeException;
import dev.vde.cli.ExitCodes;
import dev.vde.cli.Main;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A directory that contains its ancestor: the plain seed with the entry "b" of directory /a (inode of /a/b)
 * pointing at the root directory (inode 1) instead, the directory block resealed. Everything else is intact, and
 * each path resolves; but /a/b is now /, so the tree is infinite (/a/b/a/b/...). The engine must notice the
 * cycle, or at least its recursive operations must end with an error instead of running forever.
 */
class DirectoryCycleTest {
  @TempDir
  Path tmp;

  private static byte[] cycleImage() throws IOException {
    FuzzCorpus.Seed plain = FuzzCorpus.plain();
    byte[] image = plain.image();
    long a;
    long b;
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(image), OpenOptions.readOnlyOptions())) {
      a = d.stat("/a").inode();
      b = d.stat("/a/b").inode();
    }
    return withEntry(image, a, b, 1, 2);
  }

  /**
   * The plain seed with the entry "one" of /a/b naming directory /a instead, and /a's parent field rewritten to
   * /a/b, both blocks resealed: each entry below /a now agrees with its inode's parent, so the cycle /a, /a/b,
   * /a/b/one = /a, ... passes the check of each entry by itself. Only the root's entry "a" disagrees with /a's
   * parent, and every path into the cycle goes through it.
   */
  private static byte[] rewiredCycleImage() throws IOException {
    byte[] image = FuzzCorpus.plain().image();
    long a;
    long b;
    long one;
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(image), OpenOptions.readOnlyOptions())) {
      a = d.stat("/a").inode();
      b = d.stat("/a/b").inode();
      one = d.stat("/a/b/one").inode();
    }
    image = withEntry(image, b, one, a, 2);
    // u32 parent at offset 68, and the reserved word after it stays zero.
    return ImageEdit.withInodeField(image, a, 68, b);
  }

  /** {@code image} with the entry of directory inode {@code dir} naming {@code from} naming {@code to} instead. */
  private static byte[] withEntry(byte[] image, long dir, long from, long to, int type) {
    long a = dir;
    long b = from;
    int bs = Reseal.blockSize(image);
    // The DIRE block owned by /a, holding the entry naming inode b.
    for (long blk = 2; blk < image.length / bs; blk++) {
      byte[] x = ImageEdit.block(image, blk, bs);
      if (BlockCodec.checksumMatches(x) && BlockCodec.storedTag(x) == BlockType.DIRECTORY.tag()
          && BlockCodec.storedGeneration(x) == (int) a) {
        int count = Bytes.u16(x, 0);
        int p = 8;
        for (int k = 0; k < count; k++) {
          if (Bytes.u32(x, p) == b) {
            int at = p;
            Reseal.editBlock(image, blk, y -> {
              Bytes.put32(y, at, (int) to);
              y[at + 4] = (byte) type;
            });
            return image;
          }
          p += 6 + (x[p + 5] & 0xff);
        }
      }
    }
    throw new AssertionError("entry naming inode " + from + " in directory inode " + dir + " not found");
  }

  @Test
  void cliRecursiveListing_ofADirectoryCycle_endsWithAnError() throws IOException {
    Path image = Files.write(tmp.resolve("cycle.vde"), cycleImage());
    assertRecursiveListingFails(image, "/");
  }

  /** What {@code deleteRecursively(p)} throws (null if nothing), failing the test if it takes more than 30 s. */
  private static Throwable deleteRecursivelyWithin30s(VirtualDisk d, String p) {
    return assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
      try {
        d.deleteRecursively(p);
        return null;
      } catch (Throwable e) {
        return e;
      }
    }, "deleteRecursively(" + p + ") did not finish in 30 s");
  }

  /**
   * {@code vde ls IMAGE FROM -R} ends within 30 s with exit code 3, and no error escapes {@code Main.run}; returns
   * what it wrote to standard error.
   */
  private static String assertRecursiveListingFails(Path image, String from) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Object result = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
      try {
        return Main.run(new String[] {"ls", image.toString(), from, "-R"},
            new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
      } catch (Throwable t) {
        return t;
      }
    }, "vde ls IMAGE " + from + " -R on a directory cycle did not finish in 30 s");
    assertThat(result).as("vde ls IMAGE " + from + " -R: Main.run let an error escape (the JVM prints a stack "
        + "trace)").isInstanceOf(Integer.class);
    String stderr = err.toString(StandardCharsets.UTF_8);
    assertThat((Integer) result).as("exit code; stderr: " + stderr.substring(0, Math.min(400, stderr.length())))
        .isEqualTo(ExitCodes.FAILED);
    return stderr;
  }

  @Test
  void deleteRecursively_ofADirectoryInACycle_endsWithAVdeException() throws IOException {
    byte[] image = cycleImage();
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(image), OpenOptions.defaults())) {
      Throwable t = deleteRecursivelyWithin30s(d, "/a");
      assertThat(t).as("deleteRecursively(/a) through the cycle /a/b -> /").isInstanceOf(VdeException.class);
    }
  }

  /** The inode number of {@code path} in the plain seed. */
  private static long plainInode(String path) throws IOException {
    byte[] image = FuzzCorpus.plain().image();
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(image), OpenOptions.readOnlyOptions())) {
      return d.stat(path).inode();
    }
  }

  /**
   * Every path into the rewired cycle goes through the root's entry "a", the one entry that disagrees with /a's
   * parent. Only the last entry of a path used to be checked, so a walk starting at /a/b went round the cycle
   * until the walk's own cycle check stopped it; the lookup of /a/b now refuses the entry "a" on its way, naming it.
   */
  @Test
  void cliRecursiveListing_belowACycleWhoseParentFieldWasRewritten_endsWithAnError() throws IOException {
    Path image = Files.write(tmp.resolve("rewired.vde"), rewiredCycleImage());
    assertThat(assertRecursiveListingFails(image, "/a/b")).contains("/a/b: /a: its directory entry names inode "
        + plainInode("/a") + ", whose parent is inode " + plainInode("/a/b") + ", not directory inode 1");
  }

  @Test
  void deleteRecursively_belowACycleWhoseParentFieldWasRewritten_endsWithAVdeException() throws IOException {
    byte[] image = rewiredCycleImage();
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(image), OpenOptions.defaults())) {
      Throwable t = deleteRecursivelyWithin30s(d, "/a");
      assertThat(t).as("deleteRecursively(/a) through the rewired cycle").isInstanceOf(VdeCorruptedException.class)
          .hasMessageContaining("/a: its directory entry names inode " + plainInode("/a") + ", whose parent is inode "
              + plainInode("/a/b"));
      // Refused before anything was deleted.
      assertThat(d.listEntries("/").stream().map(e -> e.name())).contains("a");
    }
  }
}
