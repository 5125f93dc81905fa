package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.vde.VdeCorruptedException;
import dev.vde.cli.ExitCodes;
import dev.vde.cli.Main;
import dev.vde.format.Bytes;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A superblock whose regionDirStart is Long.MAX_VALUE (both copies, resealed). Superblock.read checks
 * {@code rdStart + rdBlocks > total}, which overflows to a negative number and passes; open then reads the
 * region directory at a negative byte offset.
 */
class SuperblockOverflowTest {
  @TempDir
  Path tmp;

  private Path damagedImage() throws IOException {
    byte[] image = FuzzCorpus.plain().image();
    Reseal.editSuperblocks(image, b -> Bytes.put64(b, 128, Long.MAX_VALUE));
    return Files.write(tmp.resolve("rdstart.vde"), image);
  }

  @Test
  void open_withRegionDirectoryStartNearLongMax_isReportedAsCorruption() throws IOException {
    Path image = damagedImage();
    for (OpenOptions o : new OpenOptions[] {OpenOptions.readOnlyOptions(), OpenOptions.defaults()}) {
      Throwable t = catchThrowable(() -> VirtualDisk.open(image, o).close());
      assertThat(t).as("open with " + o).isInstanceOf(VdeCorruptedException.class);
    }
  }

  @Test
  void cli_withRegionDirectoryStartNearLongMax_failsWithTheDamageExitCode() throws IOException {
    Path image = damagedImage();
    for (String[] args : new String[][] {{"ls", image.toString(), "/"}, {"info", image.toString()},
        {"fsck", image.toString()}}) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
          new PrintStream(err, true, StandardCharsets.UTF_8));
      String stderr = err.toString(StandardCharsets.UTF_8);
      assertThat(code).as(String.join(" ", args) + " -> stderr: " + stderr).isEqualTo(ExitCodes.FAILED);
    }
  }
}
