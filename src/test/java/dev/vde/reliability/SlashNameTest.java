package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.vde.VdeCorruptedException;
import dev.vde.cli.Main;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.fs.DirEntry;
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
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A root directory entry named "/" (the plain seed's entry "a", one byte, renamed; the DIRE block resealed).
 * FORMAT.md section 13: names contain no '/'. DirectoryBlockCodec.read accepts it, list("/") returns an entry
 * whose path "//" is the root itself, and `vde ls -R` recurses into the root forever (StackOverflowError).
 */
class SlashNameTest {
  @TempDir
  Path tmp;

  private static byte[] image() throws IOException {
    byte[] image = FuzzCorpus.plain().image();
    int bs = Reseal.blockSize(image);
    boolean found = false;
    for (long blk = 2; blk < image.length / bs; blk++) {
      byte[] x = ImageEdit.block(image, blk, bs);
      if (BlockCodec.checksumMatches(x) && BlockCodec.storedTag(x) == BlockType.DIRECTORY.tag()
          && BlockCodec.storedGeneration(x) == 1) {
        int p = 8;
        for (int k = 0; k < Bytes.u16(x, 0); k++) {
          if ((x[p + 5] & 0xff) == 1 && x[p + 6] == 'a') {
            int at = p + 6;
            // every root DIRE block holding it (a stale copy may lie in free space too)
            Reseal.editBlock(image, blk, y -> y[at] = '/');
            found = true;
          }
          p += 6 + (x[p + 5] & 0xff);
        }
      }
    }
    if (!found) {
      throw new AssertionError("entry a of / not found");
    }
    return image;
  }

  @Test
  void list_ofADirectoryWithANameContainingSlash_reportsCorruption() throws IOException {
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(image()), OpenOptions.readOnlyOptions())) {
      try {
        List<DirEntry> es = d.list("/");
        throw new AssertionError("list(/) accepted " + es.stream().map(DirEntry::path).toList());
      } catch (VdeCorruptedException expected) {
        // reported
      }
    }
  }

  @Test
  void cliRecursiveListing_withANameContainingSlash_ends() throws IOException {
    Path image = Files.write(tmp.resolve("slash.vde"), image());
    Object result = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
      try {
        return Main.run(new String[] {"ls", image.toString(), "/", "-R"},
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
      } catch (Throwable t) {
        return t;
      }
    });
    assertThat(result).as("vde ls IMAGE / -R: Main.run let an error escape").isInstanceOf(Integer.class);
  }
}
