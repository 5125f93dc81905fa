package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.vde.VdeCorruptedException;
import dev.vde.cli.ExitCodes;
import dev.vde.cli.Main;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An inline extent whose physical start is Long.MAX_VALUE (the plain seed, first extent of /a/two, inode-table
 * block resealed). ExtentMap.invalid checks {@code start + count > totalBlocks}, which overflows to a negative
 * number and passes, so the read goes to byte offset start * blockSize, negative: FileChannel throws a raw
 * IllegalArgumentException ("Negative position").
 */
class ExtentOverflowTest {
  @TempDir
  Path tmp;

  private Path damagedImage() throws IOException {
    // extent 0 at inode offset 80: u64 logical, u64 start (80 + 8), u32 count
    return damagedImage(80 + 8, Long.MAX_VALUE);
  }

  /** The plain seed with the u64 at {@code offset} of /a/two's inode set to {@code value}, resealed. */
  private Path damagedImage(int offset, long value) throws IOException {
    FuzzCorpus.Seed plain = FuzzCorpus.plain();
    long inode;
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(plain.image()), OpenOptions.readOnlyOptions())) {
      inode = d.stat("/a/two").inode();
    }
    byte[] image = ImageEdit.withInodeField(plain.image(), inode, offset, value);
    return Files.write(tmp.resolve("extent-" + offset + ".vde"), image);
  }

  @Test
  void readFile_ofAnExtentStartingNearLongMax_reportsCorruption() throws IOException {
    Path image = damagedImage();
    try (VirtualDisk d = VirtualDisk.open(image, OpenOptions.readOnlyOptions())) {
      Throwable t = catchThrowable(() -> d.readFile("/a/two"));
      assertThat(t).isInstanceOf(VdeCorruptedException.class);
    }
  }

  @Test
  void cliGet_ofAnExtentStartingNearLongMax_failsWithTheDamageExitCode() throws IOException {
    Path image = damagedImage();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.run(new String[] {"get", image.toString(), "/a/two", tmp.resolve("out").toString()},
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(code).as("stderr: " + err.toString(StandardCharsets.UTF_8)).isEqualTo(ExitCodes.FAILED);
  }

  /**
   * The copy's own scan checked {@code start + count > totalBlocks}, which the same overflow passes, and a logical
   * start near Long.MAX_VALUE, whose end wraps, passed as well: {@code vde copy} exited 0 with a new volume that
   * carried the damaged extent (and fsck of the copy reported it), where every other damage stops the copy.
   */
  @Test
  void copy_ofAnExtentWhoseEndOverflows_isRefusedNamingTheInodeAndLeavesNoDestination() throws IOException {
    // The physical start (offset 88) near Long.MAX_VALUE; then the logical start (offset 80).
    for (int offset : new int[] {80 + 8, 80}) {
      Path image = damagedImage(offset, Long.MAX_VALUE - 1);
      Path dest = tmp.resolve("copy-" + offset + ".vde");
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      int code = Main.run(new String[] {"copy", image.toString(), dest.toString()},
          new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
          new PrintStream(err, true, StandardCharsets.UTF_8));
      String stderr = err.toString(StandardCharsets.UTF_8);
      assertThat(code).as("offset " + offset + ", stderr: " + stderr).isEqualTo(ExitCodes.FAILED);
      assertThat(stderr).as("offset " + offset).contains("bad extent");
      assertThat(dest).as("offset " + offset).doesNotExist();
    }
  }
}
