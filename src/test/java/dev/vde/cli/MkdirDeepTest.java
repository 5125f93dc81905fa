package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vde mkdir -p} of a deep path. The engine's mkdirs makes every missing level in one transaction, which must
 * fit in the metadata WAL: on an 8 MiB image (a WAL of 64 blocks) a path of 300 new levels failed with "operation is
 * too large for one metadata transaction ... split it into smaller ones", which the user cannot do.
 */
class MkdirDeepTest {
  @TempDir
  Path tmp;

  private static String path(int levels, int longAt) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < levels; i++) {
      b.append('/').append(i == longAt ? "x".repeat(256) : "d" + i);
    }
    return b.toString();
  }

  private static List<String> directories(Path image) {
    List<String> out = new ArrayList<>();
    for (JsonNode item : Cli.run("ls", image, "/", "-R", "--json").ok().json()) {
      assertThat(item.get("type").asText()).isEqualTo("directory");
      out.add(item.get("path").asText());
    }
    return out;
  }

  @Test
  void threeHundredNewLevels_onAnImageWhoseWalHoldsFarFewer() {
    Path image = tmp.resolve("deep.vde");
    Cli.run("create", image, "--size", "8M", "--inodes", "1024").ok();
    String deep = path(300, -1);
    Cli.run("mkdir", image, deep, "-p").ok();
    List<String> dirs = directories(image);
    assertThat(dirs).hasSize(300).endsWith(deep);
    Cli.run("fsck", image).ok();
    // Again, and one more level below: existing levels are used as they are.
    Cli.run("mkdir", image, deep, "-p").ok();
    Cli.run("mkdir", image, deep + "/more/", "-p").ok();
    assertThat(directories(image)).hasSize(301).endsWith(deep + "/more");
  }

  @Test
  void aFailurePartWay_keepsAValidPrefix_andSaysHowFarItGot() {
    Path image = tmp.resolve("few-inodes.vde");
    Cli.run("create", image, "--size", "8M", "--inodes", "200").ok();
    Cli.run("mkdir", image, "/d0/d1", "-p").ok();
    String err = Cli.run("mkdir", image, path(300, -1), "-p").failsWith(ExitCodes.FAILED).stderr();
    List<String> dirs = directories(image);
    // Inode 0 is reserved and the root has one: 198 directories in all, two of them there before.
    assertThat(dirs).hasSize(198).endsWith(path(198, -1));
    assertThat(err).contains("no free inodes").contains(image.toString())
        .contains("the 196 of 298 new levels made before it stay, down to " + path(198, -1));
    Cli.run("fsck", image).ok();
  }

  @Test
  void aNameTooLongDeepInThePath_isRefusedBeforeAnyLevelIsMade() throws Exception {
    Path image = tmp.resolve("long-name.vde");
    Cli.run("create", image, "--size", "8M", "--inodes", "1024").ok();
    String before = Cli.sha256(image);
    String err = Cli.run("mkdir", image, path(300, 150), "-p").failsWith(ExitCodes.FAILED).stderr();
    assertThat(err).contains("256 bytes; at most 255").contains(image.toString());
    assertThat(Cli.sha256(image)).isEqualTo(before);
    Cli.run("fsck", image).ok();
  }

  @Test
  void aFileInTheWay_isNamedWithTheWholePath_andNothingIsMade() throws Exception {
    Path image = tmp.resolve("file.vde");
    Cli.run("create", image, "--size", "8M").ok();
    Cli.run("put", image, Files.writeString(tmp.resolve("f"), "x"), "/a/f").ok();
    String before = Cli.sha256(image);
    assertThat(Cli.run("mkdir", image, "/a/f/b/c", "-p").failsWith(ExitCodes.FAILED).stderr())
        .contains("/a/f/b/c: /a/f is not a directory");
    assertThat(Cli.run("mkdir", image, "/a/f", "-p").failsWith(ExitCodes.FAILED).stderr())
        .contains("/a/f: /a/f is not a directory");
    assertThat(Cli.sha256(image)).isEqualTo(before);
  }
}
