package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.RegionDirectory;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `vde module add IMAGE M` changes the volume in place, so it needs a writable open; a volume whose bitmap is damaged
 * is refused one, while a copy, which only reads it, still adds the module. The refusal said only "copy out what you
 * need, or restore the volume from a backup"; it must name the command that works.
 */
class ModuleAddUnwritableTest {
  private static final int BS = 4096;

  @TempDir
  Path dir;

  /** An image whose bitmap block is changed by {@code edit}, re-sealed when {@code reseal}. */
  private Path damaged(String name, boolean reseal) throws Exception {
    Path img = dir.resolve(name);
    long bitmap;
    long table;
    try (VirtualDisk d = VirtualDisk.create(img, CreateOptions.ofSize(8L << 20).blockSize(BS))) {
      d.writeFile("/hello", new byte[] {1, 2, 3});
      bitmap = d.volume().regions().find(RegionDirectory.TAG_BITMAP).start();
      table = d.volume().regions().find(RegionDirectory.TAG_INODES).start();
    }
    try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
      byte[] b = new byte[BS];
      f.seek(bitmap * BS);
      f.readFully(b);
      // The first inode-table block marked free: with the trailer re-sealed the volume opens read-only only;
      // without, the bitmap block fails its checksum and a writable open is refused outright.
      b[(int) (table / 8)] &= (byte) ~(1 << (table % 8));
      if (reseal) {
        BlockCodec.seal(b, BlockType.BITMAP, 0);
      }
      f.seek(bitmap * BS);
      f.write(b);
    }
    return img;
  }

  @Test
  void aVolumeThatOnlyOpensReadOnly_isRefusedWithTheCopyThatStillAddsTheModule() throws Exception {
    for (boolean reseal : new boolean[] {true, false}) {
      Path img = damaged(reseal ? "marks free.vde" : "unreadable.vde", reseal);
      byte[] before = Files.readAllBytes(img);
      Cli.Result r = Cli.run("module", "add", img.toString(), "raid");
      assertThat(r.exitCode()).as("exit code, resealed=%s", reseal).isEqualTo(ExitCodes.FAILED);
      assertThat(r.stderr()).as("resealed=%s", reseal)
          .contains("a copy can still add RAID, into a new volume: 'vde module add " + ShellWord.of(img)
              + " RAID --to DEST'");
      assertThat(Files.readAllBytes(img)).as("the image is left as it was").isEqualTo(before);
      Path dest = dir.resolve(reseal ? "copy1.vde" : "copy2.vde");
      Cli.Result copy = Cli.run("module", "add", img.toString(), "raid", "--to", dest.toString());
      assertThat(copy.exitCode()).as("the named command, resealed=%s: %s", reseal, copy.stderr()).isZero();
      try (VirtualDisk c = VirtualDisk.open(dest, OpenOptions.readOnlyOptions())) {
        assertThat(c.readFile("/hello")).containsExactly(1, 2, 3);
        assertThat(c.info().modules()).extracting(Object::toString).anyMatch(m -> m.contains("RAID")
            || m.contains("Raid"));
      }
    }
  }

  /**
   * The command in the refusal is for pasting into a shell, and a name with '$' or '"' in it is quoted with
   * backslashes there. Text output shows a backslash doubled, and a second escaping of the whole line doubled these
   * too, giving a command that named another file.
   */
  @Test
  void theCommandInTheRefusal_isNotEscapedTwice() throws Exception {
    Path img = damaged("price $5 \"a\\b\".vde", true);
    Cli.Result r = Cli.run("module", "add", img.toString(), "raid").failsWith(ExitCodes.FAILED);
    assertThat(ShellWord.of(img)).contains("\\$5").contains("\\\\b");
    assertThat(r.stderr()).contains("'vde module add " + ShellWord.of(img) + " RAID --to DEST'")
        .contains("(" + Printable.of(img.toString()) + ")");
  }

  /** A name with a control character, quoted so that the command stays one line and still names the file. */
  @Test
  void aShellWordForANameWithAControlCharacterIsOneLineAndNamesTheFile() throws Exception {
    assertThat(ShellWord.of("a\nb\\c'd\u001b\u0085.vde")).isEqualTo("$'a\\nb\\\\c\\'d\\x1b\\u0085.vde'");
    Path script = Files.writeString(dir.resolve("echo.sh"), "printf '%s' " + ShellWord.of("a\nb\\c'd\u001b.vde"));
    Process p = new ProcessBuilder("bash", script.toString()).redirectErrorStream(true).start();
    assertThat(new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8))
        .isEqualTo("a\nb\\c'd\u001b.vde");
    assertThat(p.waitFor()).isZero();
  }

  /**
   * With a bitmap block unreadable, its range is taken as allocated so that the files stay readable; the copy's
   * estimate counted all of it as data, so the planner called a copy of a nearly empty volume impossible.
   */
  @Test
  void theCopysEstimateOfAVolumeWithAnUnreadableBitmapBlock_isWhatTheCopyCopies() throws Exception {
    Path img = damaged("estimate.vde", false);
    try (VirtualDisk d = VirtualDisk.open(img, OpenOptions.readOnlyOptions())) {
      assertThat(d.volume().unreadableBitmapBlocks()).hasSize(1);
      long estimate = dev.vde.module.copy.ExtentAwareCopy.estimateCopyBlocks(d);
      dev.vde.module.copy.CopyResult r = dev.vde.module.copy.ExtentAwareCopy.copy(d, dir.resolve("est-copy.vde"),
          dev.vde.module.copy.CopyOptions.defaults());
      assertThat(estimate).isEqualTo(r.blocksCopied()).isLessThan(16);
    }
  }
}
