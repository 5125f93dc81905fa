package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link InodeMigration#peek} reads the region directory in place without opening the volume, so it holds that
 * directory to what an open holds it to before it reads the checkpoint blocks it names. It used to take the MCHK
 * entry as it was: one whose start a re-sealed edit made negative failed with the JDK's IllegalArgumentException
 * ("Negative position") instead of {@link VdeCorruptedException} naming the region directory, and one pointing
 * past the end of the file was read as zeros and reported as no migration.
 */
class PeekDamageTest {
  private static final int BS = 4096;

  @TempDir
  Path dir;

  /** A closed image with a pending migration whose MCHK entry start is set to {@code start}, re-sealed. */
  private Path withCheckpointStart(long start) throws Exception {
    Path img = dir.resolve("v" + start + ".vde");
    try (VirtualDisk disk = VirtualDisk.create(img, CreateOptions.ofSize(4L << 20).blockSize(BS).inodeCount(512))) {
      for (int i = 0; i < 40; i++) {
        disk.writeFile("/f" + i, new byte[] {(byte) i});
      }
      MigrationControl ctl = new MigrationControl(0, false);
      InodeMigration.start(disk, MigrationFixture.TAGS,
          MigrationOptions.defaults().control(ctl).checkpointEvery(48).listener(p -> ctl.cancel()));
    }
    assertThat(InodeMigration.peek(img)).as("the intact image's record").isNotNull();
    byte[] image = Files.readAllBytes(img);
    Superblock sb = Superblock.read(Arrays.copyOfRange(image, 0, BS), 0, "edit");
    boolean edited = false;
    for (long blockNo = sb.regionDirStart(); blockNo < sb.regionDirStart() + sb.regionDirBlocks(); blockNo++) {
      byte[] b = Arrays.copyOfRange(image, (int) blockNo * BS, (int) (blockNo + 1) * BS);
      long n = Bytes.u32(b, 0);
      for (int k = 0; k < n; k++) {
        int p = RegionDirectory.HEADER_SIZE + k * RegionDirectory.ENTRY_SIZE;
        if (Bytes.i32(b, p) == RegionDirectory.TAG_CHECKPOINT && (Bytes.i32(b, p + 4) & 1) == 0) {
          Bytes.put64(b, p + 8, start);
          BlockCodec.seal(b, BlockType.REGION_DIRECTORY, BlockCodec.storedGeneration(b));
          System.arraycopy(b, 0, image, (int) blockNo * BS, BS);
          edited = true;
        }
      }
    }
    assertThat(edited).isTrue();
    Files.write(img, image);
    return img;
  }

  @Test
  void aCheckpointRegionAtANegativeBlock_isReportedAsDamage() throws Exception {
    Path img = withCheckpointStart(-5);
    assertThatThrownBy(() -> InodeMigration.peek(img)).isInstanceOf(VdeCorruptedException.class)
        .hasMessageContaining("region directory").hasMessageContaining("MCHK");
  }

  @Test
  void aCheckpointRegionPastTheEndOfTheVolume_isReportedAsDamage_notAsNoMigration() throws Exception {
    Path img = withCheckpointStart(1L << 40);
    assertThatThrownBy(() -> InodeMigration.peek(img)).isInstanceOf(VdeCorruptedException.class)
        .hasMessageContaining("region directory").hasMessageContaining("MCHK");
  }
}
