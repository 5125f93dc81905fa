package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.AdditionOption;
import dev.vde.module.ModulePlanner;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The migration and the copy read every inode, the root's first. With the root's inode-table block damaged, the
 * analysis still recommended the migration ("low risk"), which then started, stopped at that block and rolled back;
 * the copy failed the same way. The analysis now reads the root's inode and calls both not possible, naming the
 * block, and `module add` refuses before it writes anything.
 */
class ModuleAddDamagedRootTest {
  private static final int BS = 4096;

  @TempDir
  Path dir;

  @Test
  void aDamagedRootInodeBlockMakesTheMigrationAndTheCopyNotPossible() throws Exception {
    Path img = dir.resolve("root.vde");
    long table;
    try (VirtualDisk d = VirtualDisk.create(img, CreateOptions.ofSize(8L << 20).blockSize(BS))) {
      d.writeFile("/hello", new byte[] {1, 2, 3});
      table = d.volume().regions().find(RegionDirectory.TAG_INODES).start();
    }
    try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
      // Inode 1, the root, is in the table's first block; its trailer no longer matches.
      f.seek(table * BS + 100);
      f.write(new byte[] {-1, -1, -1, -1, -1, -1, -1, -1});
    }
    try (VirtualDisk d = VirtualDisk.open(img, OpenOptions.readOnlyOptions())) {
      ModulePlanner.Analysis a = ModulePlanner.analyze(d, List.of(Module.TAGS));
      for (AdditionOption o : List.of(AdditionOption.MIGRATE, AdditionOption.COPY)) {
        assertThat(a.option(o).feasible()).as(o.cliName()).isFalse();
        assertThat(a.option(o).reason()).as(o.cliName())
            .contains("block " + table + " (inode table)", "root directory's inode", "vde fsck");
      }
      assertThat(a.recommended()).isNull();
    }
    byte[] before = Files.readAllBytes(img);
    String err = Cli.run("module", "add", img, "tags", "--option", "migrate").failsWith(ExitCodes.FAILED).stderr();
    assertThat(err).contains("cannot add TAGS with --option migrate", "block " + table + " (inode table)")
        .doesNotContain("rolled back");
    assertThat(Cli.run("module", "add", img, "tags").failsWith(ExitCodes.FAILED).stderr())
        .contains("no option can add TAGS");
    Path dest = dir.resolve("copy.vde");
    assertThat(Cli.run("module", "add", img, "tags", "--to", dest).failsWith(ExitCodes.FAILED).stderr())
        .contains("block " + table + " (inode table)");
    assertThat(dest).doesNotExist();
    assertThat(Files.readAllBytes(img)).as("the image is left as it was").isEqualTo(before);
  }
}
