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
    FuzzCorpus.Seed plain = FuzzCorpus.plain();
    long inode;
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(plain.image()), OpenOptions.readOnlyOptions())) {
      inode = d.stat("/a/two").inode();
    }
    // extent 0 at inode offset 80: u64 logical, u64 start (80 + 8), u32 count
    byte[] image = ImageEdit.withInodeField(plain.image(), inode, 80 + 8, Long.MAX_VALUE);
    return Files.write(tmp.resolve("extent.vde"), image);
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
}
