package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.RegionDirectory;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Damaged (resealed) entries in the middle of a path. Only the entry a path ends at was checked against the inode
 * it names; the directories along the way were taken as their entries said. An entry naming another directory
 * led every operation below it into that directory: /a/in/f read, overwrote or deleted /b/in/f, and new files
 * went there too. Each entry on the way must be checked as the last one is, the damage reported with the path
 * and the inode-table block, and nothing changed.
 *
 * <p>The volume: /a/in/f and /b/in/f (different content), /a/g, and /top. Each test damages the entry "in" of /a
 * (or an entry of the root), with {@code /b/in} either not yet cached by the engine (fresh open) or cached by a
 * lookup through its own, valid, path first: the check must hold on both ways it is made.
 */
class PathEntryDamageTest {
  private static final byte[] A_F = SeededBytes.bytes(1, 700);
  private static final byte[] B_F = SeededBytes.bytes(2, 900);

  private record Volume(OperationDamageMatrixTest.Base base, Map<String, byte[]> files) {}

  private static Volume volume() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("path entries");
    Map<String, byte[]> files = new LinkedHashMap<>();
    Map<String, Long> inodes = new LinkedHashMap<>();
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(256 * 1024).blockSize(512).inodeCount(32)
        .walBlocks(64))) {
      d.mkdirs("/a/in");
      d.mkdirs("/b/in");
      files.put("/a/in/f", A_F);
      files.put("/b/in/f", B_F);
      files.put("/a/g", SeededBytes.bytes(3, 100));
      files.put("/top", SeededBytes.bytes(4, 200));
      for (Map.Entry<String, byte[]> e : files.entrySet()) {
        d.writeFile(e.getKey(), e.getValue());
      }
      for (String p : List.of("/a", "/a/in", "/b", "/b/in", "/a/in/f", "/b/in/f", "/a/g", "/top")) {
        inodes.put(p, d.stat(p).inode());
      }
    }
    byte[] image = dev.snapshot();
    return new Volume(new OperationDamageMatrixTest.Base(image, files, inodes, ImageEdit.newestSuperblock(image),
        Reseal.regions(image)), files);
  }

  /** Every file reads as it was written, on a read-only open of {@code image}. */
  private static void assertFilesIntact(byte[] image, Map<String, byte[]> files, List<String> skip)
      throws IOException {
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(image), OpenOptions.readOnlyOptions())) {
      for (Map.Entry<String, byte[]> e : files.entrySet()) {
        if (!skip.contains(e.getKey())) {
          assertThat(d.readFile(e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
        }
      }
      assertThat(d.list("/b/in").stream().map(x -> x.name())).containsExactly("f");
    }
  }

  private static void refused(ThrowingCallable call, String what, String message, long tableBlock) {
    assertThatThrownBy(call).as(what).isInstanceOf(VdeCorruptedException.class).hasMessageContaining(message)
        .satisfies(t -> assertThat(((VdeCorruptedException) t).getBlockNo()).as(what + ": block").isEqualTo(
            tableBlock));
  }

  /**
   * Every operation through /a/in, whose entry names /b/in: refused with {@code message}, naming the path and
   * the inode-table block of the inode named, and the volume left as it was.
   */
  private static void everyOperationRefused(byte[] image, Volume v, long named, String message, boolean cacheFirst)
      throws IOException {
    long block = new OperationDamageMatrixTest.Edit(v.base()).tableBlock(named);
    PowerLossDevice dev = PowerLossDevice.fromImage(image);
    try (VirtualDisk d = VirtualDisk.open(dev, OpenOptions.defaults())) {
      if (cacheFirst) {
        assertThat(d.readFile("/b/in/f")).isEqualTo(B_F);
      }
      String f = "/a/in/f";
      String at = f + ": /a/in: " + message;
      refused(() -> d.readFile(f), "readFile", at, block);
      refused(() -> d.readFile(f, java.io.OutputStream.nullOutputStream()), "stream", at, block);
      refused(() -> d.stat(f), "stat", at, block);
      refused(() -> d.exists(f), "exists", at, block);
      refused(() -> d.write(f, 0, new byte[] {9}, 0, 1), "write", at, block);
      refused(() -> d.truncate(f, 0), "truncate", at, block);
      refused(() -> d.writeFile(f, new byte[] {9}), "writeFile", at, block);
      refused(() -> d.writeFile("/a/in/new", new byte[] {9}), "create", "/a/in/new: /a/in: " + message, block);
      refused(() -> d.delete(f), "delete", at, block);
      refused(() -> d.deleteRecursively(f), "rm -r", at, block);
      refused(() -> d.rename(f, "/moved"), "rename from", at, block);
      refused(() -> d.rename("/top", "/a/in/f"), "rename onto", at, block);
      refused(() -> d.mkdir("/a/in/sub"), "mkdir", "/a/in/sub: /a/in: " + message, block);
      refused(() -> d.mkdirs("/a/in/sub/deeper"), "mkdirs", "/a/in/sub/deeper: /a/in: " + message, block);
      // The entry a listing ends at is the directory listed: checked too.
      refused(() -> d.list("/a/in"), "list", "/a/in: " + message, block);
      refused(() -> d.listEntries("/a/in"), "listEntries", "/a/in: " + message, block);
      refused(() -> d.deleteRecursively("/a"), "rm -r above", "/a/in: " + message, block);
      // The healthy path to the same directory still works.
      assertThat(d.readFile("/b/in/f")).isEqualTo(B_F);
      assertThat(d.readFile("/a/g")).isEqualTo(v.files().get("/a/g"));
    }
    // The recursive delete of /a may delete /a/g before it reaches /a/in; nothing else is gone.
    assertFilesIntact(dev.snapshot(), v.files(), List.of("/a/in/f", "/a/g"));
  }

  /** Resealed edits of {@code v}'s image. */
  private static OperationDamageMatrixTest.Edit edit(Volume v) {
    return new OperationDamageMatrixTest.Edit(v.base());
  }

  /**
   * Rewrites the entry {@code name} of directory {@code dir} in its block in place (not in an old image of that
   * block still in the WAL, which a reopen does not replay): its inode and type.
   */
  private static long entry(OperationDamageMatrixTest.Edit e, long dir, String name, long inode, int type) {
    RegionDirectory.Entry wal = e.base.rd().find(RegionDirectory.TAG_WAL);
    byte[] want = name.getBytes(StandardCharsets.UTF_8);
    int bs = e.bs();
    for (long blk = wal.end(); blk < e.image.length / bs; blk++) {
      byte[] x = ImageEdit.block(e.image, blk, bs);
      if (!BlockCodec.checksumMatches(x) || BlockCodec.storedTag(x) != BlockType.DIRECTORY.tag()
          || BlockCodec.storedGeneration(x) != (int) dir) {
        continue;
      }
      int p = 8;
      for (int k = 0; k < Bytes.u16(x, 0); k++) {
        int len = x[p + 5] & 0xff;
        if (Arrays.equals(Arrays.copyOfRange(x, p + 6, p + 6 + len), want)) {
          int at = p;
          Reseal.editBlock(e.image, blk, y -> {
            Bytes.put32(y, at, (int) inode);
            y[at + 4] = (byte) type;
          });
          return blk;
        }
        p += 6 + len;
      }
    }
    throw new AssertionError("entry " + name + " of directory inode " + dir + " not found");
  }

  // /a/in/f read /b/in/f's content; delete("/a/in/f") deleted /b/in/f.
  @ParameterizedTest(name = "cached first: {0}")
  @ValueSource(booleans = {false, true})
  void anEntryAlongThePathNamingAnotherDirectory_isRefused(boolean cacheFirst) throws IOException {
    Volume v = volume();
    OperationDamageMatrixTest.Edit e = edit(v);
    long bIn = e.base.ino("/b/in");
    entry(e, e.base.ino("/a"), "in", bIn, 2);
    everyOperationRefused(e.image, v, bIn, "its directory entry names inode " + bIn + ", whose parent is inode "
        + e.base.ino("/b") + ", not directory inode " + e.base.ino("/a"), cacheFirst);
  }

  /**
   * An entry naming an inode past the end of the inode table: refused naming the path and the directory block that
   * holds the entry. It named neither ("block -1: inode number 1000 outside 1..31").
   */
  @Test
  void anEntryNamingAnInodePastTheTable_isRefusedNamingItsDirectoryBlock() throws IOException {
    Volume v = volume();
    OperationDamageMatrixTest.Edit e = edit(v);
    long blk = entry(e, e.base.ino("/a"), "g", 1000, 1);
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(e.image), OpenOptions.readOnlyOptions())) {
      refused(() -> d.readFile("/a/g"), "readFile", "/a/g: its directory entry names inode 1000, outside 1..31",
          blk);
      refused(() -> d.list("/a"), "list", "/a/g: its directory entry names inode 1000", blk);
      assertThat(d.readFile("/b/in/f")).isEqualTo(B_F);
    }
  }

  /**
   * A directory whose inode's size does not fit its blocks (not a whole number of payloads, or more blocks than it
   * maps): refused as damage naming the directory's inode-table block, where the size and extents are. It named
   * no block ("block -1").
   */
  @ParameterizedTest(name = "size {0} payloads + {1}")
  @CsvSource({"1, 1", "2, 0"})
  void aDirectoryWhoseSizeDoesNotFitItsBlocks_isRefusedNamingItsInodeBlock(int payloads, int plus)
      throws IOException {
    Volume v = volume();
    OperationDamageMatrixTest.Edit e = edit(v);
    long in = e.base.ino("/a/in");
    long size = (long) payloads * (e.bs() - 16) + plus;
    e.inode(in, (b, off) -> Bytes.put64(b, off + 16, size));
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(e.image), OpenOptions.readOnlyOptions())) {
      refused(() -> d.list("/a/in"), "list", plus != 0 ? "not a multiple of the block payload"
          : "has a hole at block 1", e.tableBlock(in));
      assertThat(d.readFile("/b/in/f")).isEqualTo(B_F);
    }
  }

  // Reported before, but as "inode N is used as a directory but is free", naming neither the path nor a block.
  @Test
  void anEntryAlongThePathNamingAFreeInode_isRefusedNamingThePath() throws IOException {
    Volume v = volume();
    OperationDamageMatrixTest.Edit e = edit(v);
    long free = e.freeInode();
    entry(e, e.base.ino("/a"), "in", free, 2);
    everyOperationRefused(e.image, v, free, "its directory entry names inode " + free + ", which is free",
        false);
  }

  // As for a free inode: "used as a directory but is a file", naming neither the path nor a block.
  @Test
  void anEntryAlongThePathNamingAFile_isRefusedNamingThePath() throws IOException {
    Volume v = volume();
    OperationDamageMatrixTest.Edit e = edit(v);
    long top = e.base.ino("/top");
    entry(e, e.base.ino("/a"), "in", top, 2);
    everyOperationRefused(e.image, v, top, "its directory entry names inode " + top + ", of type 1 where the "
        + "entry says 2", false);
  }

  /**
   * An entry whose type byte says file where its inode is the directory: a path through it said "not a
   * directory", as if the tree held a file there. It is damage, and must be reported as such.
   */
  @Test
  void anEntryAlongThePathWhoseTypeSaysFile_forADirectory_isDamageNotAFile() throws IOException {
    Volume v = volume();
    OperationDamageMatrixTest.Edit e = edit(v);
    long aIn = e.base.ino("/a/in");
    entry(e, e.base.ino("/a"), "in", aIn, 1);
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(e.image), OpenOptions.readOnlyOptions())) {
      refused(() -> d.readFile("/a/in/f"), "readFile", "/a/in/f: /a/in: its directory entry names inode " + aIn
          + ", of type 2 where the entry says 1", e.tableBlock(aIn));
      refused(() -> d.list("/a/in/"), "list with a slash", "/a/in/: its directory entry names inode " + aIn,
          e.tableBlock(aIn));
    }
  }

  /**
   * An entry of the root naming the root: the root is its own parent, so the entry passed the parent check, and
   * /loop/a/in/f was /a/in/f (any number of "loop/" in front).
   */
  @Test
  void anEntryNamingTheRoot_isRefused_alongAPathAndAtItsEnd() throws IOException {
    Volume v = volume();
    OperationDamageMatrixTest.Edit e = edit(v);
    entry(e, 1, "top", 1, 2);
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(e.image), OpenOptions.defaults())) {
      long block = e.tableBlock(1);
      String root = "its directory entry names inode 1, the root directory, which no entry names";
      refused(() -> d.readFile("/top/a/in/f"), "along", "/top/a/in/f: /top: " + root, block);
      refused(() -> d.writeFile("/top/top/new", new byte[] {1}), "create along", "/top/top/new: /top: " + root,
          block);
      refused(() -> d.list("/top"), "list", "/top: " + root, block);
      refused(() -> d.stat("/top"), "stat", "/top: " + root, block);
      refused(() -> d.delete("/top"), "delete", "/top: " + root, block);
      assertThat(d.readFile("/a/in/f")).isEqualTo(A_F);
    }
  }

  /**
   * The check costs no read for a cached directory because the cache holds each directory's parent: a move
   * must carry it along, in both directions, or a lookup after the move would take the moved directory's valid
   * entry for damage (and one naming its old place would pass).
   */
  @Test
  void movedDirectories_areFoundAtTheirNewPlace_andTheCachedParentFollows() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("moves");
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(256 * 1024).blockSize(512).inodeCount(32)
        .walBlocks(64))) {
      d.mkdirs("/a/in/deep");
      d.mkdir("/b");
      d.writeFile("/a/in/deep/f", A_F);
      assertThat(d.readFile("/a/in/deep/f")).isEqualTo(A_F);
      d.rename("/a/in", "/b/in");
      assertThat(d.readFile("/b/in/deep/f")).isEqualTo(A_F);
      assertThat(d.exists("/a/in")).isFalse();
      d.rename("/b/in", "/in");
      assertThat(d.readFile("/in/deep/f")).isEqualTo(A_F);
      d.rename("/in", "/a/in2");
      d.writeFile("/a/in2/deep/g", B_F);
      assertThat(d.list("/a/in2/deep").stream().map(x -> x.name())).containsExactly("f", "g");
    }
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(dev.snapshot()), OpenOptions.readOnlyOptions())) {
      assertThat(d.readFile("/a/in2/deep/g")).isEqualTo(B_F);
      assertThat(d.verify(Progress.NONE).problems()).isEmpty();
    }
  }
}
