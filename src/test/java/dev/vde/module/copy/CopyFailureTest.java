package dev.vde.module.copy;

import static dev.vde.module.copy.CopyFixtures.BS;
import static dev.vde.module.copy.CopyFixtures.PAYLOAD;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeCorruptedException;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.VdeNoSpaceException;
import dev.vde.format.Module;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.inode.Extent;
import dev.vde.inode.Inode;
import dev.vde.io.BlockDevice;
import dev.vde.io.ForwardingBlockDevice;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CopyFailureTest {
  @TempDir
  Path tmp;

  @Test
  void anExistingDestinationIsRefusedAndLeftAlone() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = Files.writeString(tmp.resolve("dst.vde"), "precious");
    try (VirtualDisk d = CopyFixtures.create(src, 8L << 20)) {
      d.writeFile("/x", SeededBytes.bytes(1, 100));
      assertThatThrownBy(() -> ExtentAwareCopy.copy(d, dst, CopyOptions.defaults()))
          .isInstanceOf(VdeInvalidArgumentException.class)
          .hasMessageContaining("already exists");
    }
    assertThat(Files.readString(dst)).isEqualTo("precious");
  }

  @Test
  void forceReplacesAnExistingDestinationButNeverTheSource() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = Files.writeString(tmp.resolve("dst.vde"), "old");
    try (VirtualDisk d = CopyFixtures.create(src, 8L << 20)) {
      d.writeFile("/x", SeededBytes.bytes(1, 100));
      ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().force(true));
      String hash = CopyFixtures.sha256(src);
      assertThatThrownBy(() -> ExtentAwareCopy.copy(d, src, CopyOptions.defaults().force(true)))
          .isInstanceOf(VdeInvalidArgumentException.class)
          .hasMessageContaining("is the source");
      assertThat(CopyFixtures.sha256(src)).isEqualTo(hash);
    }
    try (VirtualDisk c = VirtualDisk.open(dst)) {
      assertThat(c.readFile("/x")).isEqualTo(SeededBytes.bytes(1, 100));
    }
  }

  @Test
  void aForcedCopyThatFailsLeavesTheOldDestinationAsItWas() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = Files.writeString(tmp.resolve("dst.vde"), "precious");
    long victim;
    try (VirtualDisk d = CopyFixtures.create(src, 8L << 20)) {
      d.writeFile("/victim", SeededBytes.bytes(2, 3 * PAYLOAD));
      victim = d.volume().readInode(d.stat("/victim").inode()).extents().get(0).start();
    }
    flipByte(src, victim * BS + 100);
    try (VirtualDisk d = VirtualDisk.open(src, OpenOptions.readOnlyOptions())) {
      assertThatThrownBy(() -> ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().force(true)))
          .isInstanceOf(VdeCorruptedException.class);
    }
    assertThat(Files.readString(dst)).isEqualTo("precious");
    try (var files = Files.list(tmp)) {
      assertThat(files.map(p -> p.getFileName().toString())).as("nothing left beside it")
          .containsExactlyInAnyOrder("src.vde", "dst.vde");
    }
  }

  // With glob characters in the name too: the leftovers were once found with a glob built from the name, so '['
  // made the forced copy fail with a raw PatternSyntaxException, and '*' matched other destinations' files.
  @ParameterizedTest
  @ValueSource(strings = {"dst.vde", "backup[1*.vde"})
  void aForcedCopyRemovesWhatKilledForcedCopiesLeftBeside(String name) throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = Files.writeString(tmp.resolve(name), "old");
    Path dead = Files.writeString(tmp.resolve("." + name + ".999999999-2.copy"), "left by a killed copy");
    Path deadOlder = Files.writeString(tmp.resolve("." + name + ".999999999.copy"), "left by an older version's");
    Path running = Files.writeString(tmp.resolve("." + name + ".1-1.copy"), "being written by a live process");
    Path unrelated = Files.writeString(tmp.resolve(".other" + name + ".999999999-1.copy"), "another destination's");
    try (VirtualDisk d = CopyFixtures.create(src, 8L << 20)) {
      d.writeFile("/x", SeededBytes.bytes(1, 100));
      ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().force(true));
    }
    assertThat(dead).doesNotExist();
    assertThat(deadOlder).doesNotExist();
    assertThat(running).exists();
    assertThat(unrelated).exists();
    try (VirtualDisk c = VirtualDisk.open(dst)) {
      assertThat(c.readFile("/x")).isEqualTo(SeededBytes.bytes(1, 100));
    }
  }

  /**
   * A forced copy writes beside DEST under DEST's name with a dot before it and the process's number after it; a
   * name near the host's limit of 255 bytes made that file's name too long, and the copy failed naming a hidden
   * file the user never gave, though a copy to the same name without --force works.
   */
  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void aForcedCopyOverADestinationWithALongNameWorks(int bytesPerChar) throws Exception {
    Path src = tmp.resolve("src.vde");
    String name = (bytesPerChar == 1 ? "x" : "\u00e9").repeat(250 / bytesPerChar - 4 / bytesPerChar) + ".vde";
    assertThat(name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length).isBetween(248, 250);
    Path dst = Files.writeString(tmp.resolve(name), "old");
    try (VirtualDisk d = CopyFixtures.create(src, 8L << 20)) {
      d.writeFile("/x", SeededBytes.bytes(1, 100));
      ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().force(true));
    }
    try (VirtualDisk c = VirtualDisk.open(dst)) {
      assertThat(c.readFile("/x")).isEqualTo(SeededBytes.bytes(1, 100));
    }
    try (var files = Files.list(tmp)) {
      assertThat(files.map(p -> p.getFileName().toString())).as("nothing left beside it")
          .containsExactlyInAnyOrder("src.vde", name);
    }
  }

  /**
   * Two forced copies to one destination in one process: each writes its own file beside it (they used to share
   * one name per process, so the second deleted the first's file and the first then failed to rename it).
   */
  @Test
  void twoForcedCopiesToOneDestinationInOneProcess_bothComplete() throws Exception {
    Path dst = tmp.resolve("dst.vde");
    try (VirtualDisk d = CopyFixtures.create(tmp.resolve("src.vde"), 16L << 20)) {
      CopyFixtures.populate(d);
      ExtentAwareCopy.copy(d, dst, CopyOptions.defaults());
      List<Object> second = new ArrayList<>();
      Progress during = (phase, done, total, unit) -> {
        if (phase.equals("pre-copying") && done == total && second.isEmpty()) {
          try {
            second.add(ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().force(true)));
          } catch (IOException e) {
            second.add(e);
          }
        }
      };

      ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().force(true).progress(during));

      assertThat(second).hasSize(1);
      assertThat(second.get(0)).as("the copy started meanwhile").isInstanceOf(CopyResult.class);
      Map<String, String> expected = CopyFixtures.tree(d);
      try (VirtualDisk c = VirtualDisk.open(dst)) {
        CopyFixtures.assertClean(c, "after both copies");
        assertThat(CopyFixtures.tree(c)).isEqualTo(expected);
      }
      try (var left = Files.list(tmp)) {
        assertThat(left.map(p -> p.getFileName().toString()).toList()).as("nothing left beside")
            .containsExactlyInAnyOrder("src.vde", "dst.vde");
      }
    }
  }

  @Test
  void aDestinationInUseIsNotReplaced() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("dst.vde");
    try (VirtualDisk d = CopyFixtures.create(src, 8L << 20);
        VirtualDisk other = CopyFixtures.create(dst, 8L << 20)) {
      other.writeFile("/mine", SeededBytes.bytes(2, 10));
      assertThatThrownBy(() -> ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().force(true)))
          .isInstanceOf(dev.vde.VdeLockedException.class);
      assertThat(other.readFile("/mine")).isEqualTo(SeededBytes.bytes(2, 10));
    }
  }

  @Test
  void unknownModuleNamesAreRejectedWithTheValidOnes() {
    assertThatThrownBy(() -> Module.parse("bogus"))
        .isInstanceOf(VdeInvalidArgumentException.class)
        .hasMessageContaining("unknown module 'bogus'")
        .hasMessageContaining("Tags (TAGS)");
  }

  @Test
  void aDamagedDataBlockStopsTheCopyNamingItAndLeavesNoDestination() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("dst.vde");
    long victim;
    try (VirtualDisk d = CopyFixtures.create(src, 8L << 20)) {
      d.writeFile("/ok", SeededBytes.bytes(1, 5 * PAYLOAD));
      d.writeFile("/victim", SeededBytes.bytes(2, 3 * PAYLOAD));
      Inode ino = d.volume().readInode(d.stat("/victim").inode());
      Extent e = ino.extents().get(0);
      victim = e.start() + 1;
    }
    flipByte(src, victim * BS + 100);
    String hash = CopyFixtures.sha256(src);
    try (VirtualDisk d = VirtualDisk.open(src, OpenOptions.readOnlyOptions())) {
      assertThatThrownBy(() -> ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().addModule(Module.TRANSIT)))
          .isInstanceOfSatisfying(VdeCorruptedException.class, e -> {
            assertThat(e.getBlockNo()).isEqualTo(victim);
            assertThat(e.getStructure()).isEqualTo("file data");
          })
          .hasMessageContaining("checksum");
    }
    assertThat(Files.exists(dst)).as("partial destination removed").isFalse();
    assertThat(CopyFixtures.sha256(src)).isEqualTo(hash);
  }

  /**
   * A Tags field its decoder refuses is damage the verifier names (every read of the file's tags fails). The copy
   * refuses it like any other damage it finds, naming the inode-table block, rather than carrying it into a new
   * volume that fails its check at once, or, with verification, blaming the copy for the source's damage.
   */
  @Test
  void aDamagedTagsFieldStopsTheCopyNamingItAndLeavesNoDestination() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("dst.vde");
    try (VirtualDisk d = CopyFixtures.create(src, 8L << 20, Module.TAGS)) {
      d.writeFile("/ok", SeededBytes.bytes(1, 5 * PAYLOAD));
      dev.vde.module.Tags.set(d, "/ok", "k", "v");
      d.writeFile("/victim", SeededBytes.bytes(2, 3 * PAYLOAD));
      byte[] damaged = new byte[dev.vde.module.Tags.FIELD_BYTES];
      java.util.Arrays.fill(damaged, (byte) 0x7f);
      d.writeModuleField("/victim", Module.TAGS, damaged);
      long ino = d.stat("/victim").inode();
      long tableBlock = d.volume().regions().find(dev.vde.format.RegionDirectory.TAG_INODES).start()
          + ino / dev.vde.inode.InodeCodec.perBlock(BS, d.volume().superblock().inodeSize());
      assertThat(d.verify(Progress.NONE).problems()).as("the verifier names the damage").hasSize(1);
      for (boolean verify : new boolean[] {false, true}) {
        assertThatThrownBy(() -> ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().verify(verify)))
            .isInstanceOfSatisfying(VdeCorruptedException.class, e -> {
              assertThat(e.getBlockNo()).isEqualTo(tableBlock);
              assertThat(e.getStructure()).isEqualTo("inode table");
            })
            .hasMessageContaining("Tags field of inode " + ino)
            .hasMessageNotContaining("verification of the copy");
        assertThat(dst).as("nothing left behind").doesNotExist();
      }
    }
  }

  /**
   * A name listed twice in one directory breaks the format's rules (FORMAT.md section 13): the engine refuses the
   * directory when it loads it, and the verifier reports it. The copy checks the tree before it writes anything, so
   * it must refuse it too rather than carry it into a volume that looks new, where every lookup in that directory
   * fails.
   */
  @Test
  void aNameListedTwiceInADirectoryStopsTheCopyNamingTheBlock() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("dst.vde");
    long dirBlock;
    try (VirtualDisk d = CopyFixtures.create(src, 8L << 20)) {
      d.mkdir("/d");
      d.writeFile("/d/aa", SeededBytes.bytes(1, 10));
      d.writeFile("/d/ab", SeededBytes.bytes(2, 10));
      dirBlock = d.volume().readInode(d.stat("/d").inode()).extents().get(0).start();
    }
    // "ab" becomes "aa": the same length, so the block stays well formed; resealed with its owner.
    try (RandomAccessFile f = new RandomAccessFile(src.toFile(), "rw")) {
      byte[] b = new byte[BS];
      f.seek(dirBlock * BS);
      f.readFully(b);
      String text = new String(b, java.nio.charset.StandardCharsets.ISO_8859_1);
      int at = text.indexOf("ab");
      assertThat(at).isPositive();
      b[at + 1] = 'a';
      dev.vde.format.BlockCodec.seal(b, dev.vde.format.BlockType.DIRECTORY, dev.vde.format.BlockCodec
          .storedGeneration(b));
      f.seek(dirBlock * BS);
      f.write(b);
    }
    try (VirtualDisk d = VirtualDisk.open(src, OpenOptions.readOnlyOptions())) {
      assertThat(d.verify(Progress.NONE).problems()).as("the verifier names the damage")
          .anySatisfy(p -> assertThat(p.message()).contains("appears twice"));
      for (boolean verify : new boolean[] {false, true}) {
        assertThatThrownBy(() -> ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().verify(verify)))
            .isInstanceOfSatisfying(VdeCorruptedException.class, e -> {
              assertThat(e.getBlockNo()).isEqualTo(dirBlock);
              assertThat(e.getStructure()).isEqualTo("directory");
            })
            .hasMessageContaining("'aa'")
            .hasMessageNotContaining("verification of the copy");
        assertThat(dst).as("nothing left behind").doesNotExist();
      }
    }
  }

  /**
   * Damage the verifier reports in bytes the copy carries over as they are (an inode's core, a directory block, a
   * chain block that is not rebuilt): each must stop the copy naming its block, like the damage the copy already
   * refused, rather than give a new volume that fails {@code vde fsck} at once, or make a verifying copy blame
   * itself. Checksums are resealed, so only the rules catch it.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"flags byte", "reserved core bytes", "unused inline extent slot", "extent reserved bytes",
      "indirect block with inline extents", "extent past the size", "negative size", "directory reserved bytes",
      "directory bytes after the entries", "chain reserved bytes", "chain bytes after the extents",
      "bytes past the end of a file"})
  void damageTheVerifierReportsInCopiedBytesStopsTheCopy(String damage) throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("dst.vde");
    long tableBlock;
    int recordOff;
    long dirBlock;
    long chainBlock;
    long lastDataBlock;
    try (VirtualDisk d = CopyFixtures.create(src, 8L << 20)) {
      d.mkdir("/d");
      d.writeFile("/d/f", SeededBytes.bytes(1, 3 * PAYLOAD));
      d.writeFile("/d/g", SeededBytes.bytes(3, 2 * PAYLOAD + 10));
      Extent g = d.volume().readInode(d.stat("/d/g").inode()).extents().get(0);
      assertThat(g.count()).isEqualTo(3);
      lastDataBlock = g.start() + 2;
      CopyFixtures.fragmented(d, "/frag", 12);
      long ino = d.stat("/d/f").inode();
      int perBlock = dev.vde.inode.InodeCodec.perBlock(BS, d.volume().superblock().inodeSize());
      tableBlock = d.volume().regions().find(dev.vde.format.RegionDirectory.TAG_INODES).start() + ino / perBlock;
      recordOff = (int) (ino % perBlock) * d.volume().superblock().inodeSize();
      dirBlock = d.volume().readInode(d.stat("/d").inode()).extents().get(0).start();
      chainBlock = d.volume().readInode(d.stat("/frag").inode()).indirectBlock();
      assertThat(chainBlock).isPositive();
    }
    long block = switch (damage) {
      case "directory reserved bytes", "directory bytes after the entries" -> dirBlock;
      case "chain reserved bytes", "chain bytes after the extents" -> chainBlock;
      case "bytes past the end of a file" -> lastDataBlock;
      default -> tableBlock;
    };
    editAndReseal(src, block, b -> {
      switch (damage) {
        case "flags byte" -> b[recordOff + 5] = 1;
        case "reserved core bytes" -> b[recordOff + 72] = 1;
        case "unused inline extent slot" -> b[recordOff + 80 + 7 * Extent.SIZE] = 1;
        case "extent reserved bytes" -> b[recordOff + 80 + 20] = 1;
        case "indirect block with inline extents" -> dev.vde.format.Bytes.put64(b, recordOff + 56, 5);
        case "extent past the size" -> dev.vde.format.Bytes.put64(b, recordOff + 16, 10);
        case "negative size" -> dev.vde.format.Bytes.put64(b, recordOff + 16, -1);
        case "directory reserved bytes", "chain reserved bytes" -> b[4] = 1;
        default -> b[PAYLOAD - 1] = 1;
      }
    });
    try (VirtualDisk d = VirtualDisk.open(src, OpenOptions.readOnlyOptions())) {
      assertThat(d.verify(Progress.NONE).problems()).as("the verifier reports it").isNotEmpty();
      for (boolean verify : new boolean[] {false, true}) {
        assertThatThrownBy(() -> ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().verify(verify)))
            .isInstanceOfSatisfying(VdeCorruptedException.class, e -> assertThat(e.getBlockNo()).isEqualTo(block))
            .hasMessageNotContaining("verification of the copy");
        assertThat(dst).as("nothing left behind").doesNotExist();
      }
    }
  }

  /** Rewrites block {@code blockNo} of the host file through {@code edit}, resealed with its tag and owner. */
  private static void editAndReseal(Path file, long blockNo, java.util.function.Consumer<byte[]> edit)
      throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      byte[] b = new byte[BS];
      f.seek(blockNo * BS);
      f.readFully(b);
      edit.accept(b);
      dev.vde.format.BlockCodec.seal(b, dev.vde.format.BlockType.fromTag(dev.vde.format.BlockCodec.storedTag(b)),
          dev.vde.format.BlockCodec.storedGeneration(b));
      f.seek(blockNo * BS);
      f.write(b);
    }
  }

  @Test
  void aShrinkingDestinationIsRefused() throws Exception {
    Path src = tmp.resolve("src.vde");
    try (VirtualDisk d = CopyFixtures.create(src, 8L << 20)) {
      assertThatThrownBy(() -> ExtentAwareCopy.copy(d, tmp.resolve("d.vde"),
          CopyOptions.defaults().sizeBytes(4L << 20)))
          .isInstanceOf(VdeInvalidArgumentException.class)
          .hasMessageContaining("shrink");
    }
    assertThat(Files.exists(tmp.resolve("d.vde"))).isFalse();
  }

  /**
   * A copy keeps the block size, so inodes that outgrow the block cannot be helped by a larger one here: the
   * refusal says so rather than asking for a larger block size that no copy option sets, and the planner, which
   * shows the same reason for the copy option, says it too.
   */
  @Test
  void modulesWhoseInodesOutgrowTheBlockAreRefusedWithoutAskingForABlockSizeTheCopyCannotChange() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("d.vde");
    try (VirtualDisk d = VirtualDisk.create(src, dev.vde.fs.CreateOptions.ofSize(8L << 20).blockSize(512)
        .module(Module.TAGS))) {
      assertThatThrownBy(() -> ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().addModule(Module.SECURITY)))
          .isInstanceOf(VdeInvalidArgumentException.class)
          .hasMessageContaining("512-byte blocks")
          .hasMessageContaining("a copy keeps the block size")
          .hasMessageNotContaining("choose a larger block size");
      assertThat(ExtentAwareCopy.copyProblem(d.volume().superblock(), java.util.Set.of(Module.SECURITY), 0))
          .contains("a copy keeps the block size").doesNotContain("choose a larger block size");
    }
    assertThat(dst).doesNotExist();
  }

  @Test
  void aFullHostDiskIsReportedAsNoSpace() throws Exception {
    Path src = tmp.resolve("src.vde");
    try (VirtualDisk d = CopyFixtures.create(src, 8L << 20)) {
      d.writeFile("/big", SeededBytes.bytes(3, 100 * PAYLOAD));
      BlockDevice full = new FullAfter(new PowerLossDevice("small disk"), 40L * BS);
      assertThatThrownBy(() -> ExtentAwareCopy.copy(d, full, CopyOptions.defaults()))
          .isInstanceOf(VdeNoSpaceException.class)
          .hasMessageContaining("no space left");
    }
  }

  @Test
  void aDeviceThatIsNotEmptyIsRefused() throws Exception {
    Path src = tmp.resolve("src.vde");
    PowerLossDevice used = new PowerLossDevice();
    used.write(0, ByteBuffer.wrap(new byte[BS]));
    try (VirtualDisk d = CopyFixtures.create(src, 8L << 20)) {
      assertThatThrownBy(() -> ExtentAwareCopy.copy(d, used, CopyOptions.defaults()))
          .isInstanceOf(VdeInvalidArgumentException.class)
          .hasMessageContaining("not empty");
    }
  }

  private static void flipByte(Path file, long pos) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(pos);
      int b = f.read();
      f.seek(pos);
      f.write(b ^ 0x5A);
    }
  }

  /** A device on a host disk that fills up: writes past {@code limit} bytes fail as the JDK reports ENOSPC. */
  private static final class FullAfter extends ForwardingBlockDevice {
    private final long limit;
    private long written;

    FullAfter(BlockDevice dev, long limit) {
      super(dev);
      this.limit = limit;
    }

    @Override
    public void write(long pos, ByteBuffer src) throws IOException {
      written += src.remaining();
      if (written > limit) {
        throw new IOException("No space left on device");
      }
      delegate.write(pos, src);
    }
  }
}
