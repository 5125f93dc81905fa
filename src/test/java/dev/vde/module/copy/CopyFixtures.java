package dev.vde.module.copy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.check.VerifyReport;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.DirEntry;
import dev.vde.fs.FileType;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/** Source volumes with known content for the copy tests, and ways to compare what a copy produced. */
final class CopyFixtures {
  static final int BS = 4096;
  static final int PAYLOAD = BS - 16;

  private CopyFixtures() {}

  static VirtualDisk create(Path file, long sizeBytes, Module... modules) throws IOException {
    return create(file, sizeBytes, 0, modules);
  }

  /** A volume with {@code inodes} inodes (0: the default). */
  static VirtualDisk create(Path file, long sizeBytes, long inodes, Module... modules) throws IOException {
    CreateOptions o = CreateOptions.ofSize(sizeBytes).blockSize(BS).inodeCount(inodes).label("copy-test");
    for (Module m : modules) {
      o.module(m);
    }
    return VirtualDisk.create(file, o);
  }

  /**
   * Nested directories, empty files, one-block, multi-block and odd-sized files, a directory grown past one block,
   * and a file of more than eight extents.
   */
  static void populate(VirtualDisk d) throws IOException {
    d.mkdirs("/a/b/c");
    d.mkdirs("/empty-dir/inner");
    d.writeFile("/empty.txt", new byte[0]);
    d.writeFile("/a/empty-too", new byte[0]);
    d.writeFile("/a/one-block", SeededBytes.bytes(1, PAYLOAD));
    d.writeFile("/a/b/three-blocks-and-a-bit", SeededBytes.bytes(2, 3 * PAYLOAD + 17));
    d.writeFile("/a/b/c/big", SeededBytes.bytes(3, 40 * PAYLOAD + 1234));
    d.writeFile("/tiny", "hello, copy".getBytes(StandardCharsets.UTF_8));
    // 300 names grow /a past one directory block; one batch keeps it to one sync.
    d.batch(disk -> {
      for (int i = 0; i < 300; i++) {
        disk.writeFile("/a/f" + i + "-with-a-long-enough-name", SeededBytes.bytes(100 + i, i % 7 * 100));
      }
    });
    fragmented(d, "/a/b/fragmented", 12);
  }

  /**
   * A file of {@code pieces} extents: each full-block append lands after a one-block file written in between,
   * so no two of its blocks touch.
   */
  static byte[] fragmented(VirtualDisk d, String path, int pieces) throws IOException {
    d.writeFile(path, new byte[0]);
    byte[] all = new byte[pieces * PAYLOAD];
    for (int i = 0; i < pieces; i++) {
      byte[] chunk = SeededBytes.bytes(path.hashCode() + i, PAYLOAD);
      System.arraycopy(chunk, 0, all, i * PAYLOAD, PAYLOAD);
      d.append(path, chunk);
      d.writeFile(path + ".spacer" + i, SeededBytes.bytes(i, 10));
    }
    assertThat(d.stat(path).extentCount()).as("extents of " + path).isGreaterThan(8);
    return all;
  }

  /** Path to "dir" or the SHA-256 of the file's content, for the whole tree. */
  static Map<String, String> tree(VirtualDisk d) throws IOException {
    Map<String, String> out = new TreeMap<>();
    walk(d, "/", out);
    return out;
  }

  private static void walk(VirtualDisk d, String dir, Map<String, String> out) throws IOException {
    for (DirEntry e : d.list(dir)) {
      if (e.type() == FileType.DIRECTORY) {
        out.put(e.path(), "dir");
        walk(d, e.path(), out);
      } else {
        out.put(e.path(), e.size() + ":" + sha256(d.readFile(e.path())));
      }
    }
  }

  static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  static String sha256(Path file) throws IOException {
    return sha256(Files.readAllBytes(file));
  }

  static void assertClean(VirtualDisk d, String context) throws IOException {
    VerifyReport r = d.verify(Progress.NONE);
    TestVolumes.assertClean(r, context);
  }

  /** Bytes the host file system allocated to {@code file} ({@code stat %b} blocks of 512 bytes). */
  static long allocatedBytes(Path file) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("stat", "--format=%b", file.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertThat(p.waitFor()).as("stat: " + out).isZero();
    return Long.parseLong(out) * 512;
  }
}
