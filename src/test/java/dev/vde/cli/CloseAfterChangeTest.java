package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.FileBlockDevice;
import dev.vde.testing.FullHostDevice;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A command's change is durable when its call returns; closing the image afterwards checkpoints, which on a full
 * host file system can fail (new home blocks need host space the WAL's blocks already had). The command did what
 * it was asked, so that is a warning, not an exit code that says the image was left as it was: 'vde mkdir -p' on a
 * full host used to exit 3 with the directories created.
 */
class CloseAfterChangeTest {
  @TempDir Path tmp;

  @Test
  void aClosingCheckpointTheFullHostRefusesIsAWarning_andTheChangeIsKept() throws IOException {
    Path image = tmp.resolve("full.vde");
    FullHostDevice dev = new FullHostDevice(FileBlockDevice.create(image));
    VirtualDisk disk = VirtualDisk.create(dev, CreateOptions.ofSize(16L << 20).walBlocks(64));
    // The WAL's blocks get host space now; the directories below need new blocks, which only the checkpoint writes.
    disk.batch(b -> {
      for (int i = 0; i < 40; i++) {
        b.writeFile("/s" + i, new byte[100]);
      }
    });
    disk.checkpoint();
    dev.fill();
    disk.mkdirs("/n1/n2/n3/n4");
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    ImageCommand.closeAfterChange(disk, image, new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(dev.refusals()).as("the closing checkpoint met the full host").isPositive();
    assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("vde: warning: the change is saved")
        .contains("No space left on device").contains(image.toString());
    dev.free();
    try (VirtualDisk again = VirtualDisk.open(image, OpenOptions.defaults())) {
      assertThat(again.exists("/n1/n2/n3/n4")).isTrue();
    }
  }
}
