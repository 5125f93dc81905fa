package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeCorruptedException;
import dev.vde.format.RegionDirectory;
import dev.vde.inode.Extent;
import dev.vde.inode.Inode;
import dev.vde.testing.PowerLossDevice;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A file whose extent was damaged to point into metadata (what a lost write of an inode-table block can leave,
 * checksum and all) must not hand that metadata to the allocator when it is deleted or replaced: the operation
 * is refused and frees nothing, so the next file cannot be written over a live WAL or inode-table block.
 */
class DamagedExtentFreeTest {
  @Test
  void deletingOrReplacingAFileThatMapsMetadata_isRefusedAndFreesNothing() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(new PowerLossDevice("cross"), CreateOptions.ofSize(8L << 20))) {
      d.writeFile("/victim", new byte[5000]);
      d.writeFile("/other", new byte[] {1, 2, 3});
      RegionDirectory.Entry wal = d.volume().regions().find(RegionDirectory.TAG_WAL);
      long ino = d.stat("/victim").inode();
      // Damage as a lost inode-block write would: a well-formed inode whose extent names WAL blocks.
      d.mutate(t -> {
        Inode old = d.volume().inodes.read(t, ino);
        d.volume().inodes.write(t, old.withExtents(List.of(new Extent(0, wal.start() + 3, 2)), old.size(),
            old.indirectBlock(), System.currentTimeMillis()), old);
        return null;
      });
      long freeBefore = d.volume().bitmap().durableFree();
      assertThatThrownBy(() -> d.delete("/victim")).isInstanceOf(VdeCorruptedException.class)
          .hasMessageContaining("region MWAL").hasMessageContaining("nothing was freed");
      assertThatThrownBy(() -> d.writeFile("/victim", new byte[10])).isInstanceOf(VdeCorruptedException.class);
      assertThatThrownBy(() -> d.truncate("/victim", 0)).isInstanceOf(VdeCorruptedException.class);
      assertThat(d.exists("/victim")).isTrue();
      assertThat(d.volume().bitmap().durableFree()).isEqualTo(freeBefore);
      // The rest of the volume works on.
      d.writeFile("/after", new byte[] {9});
      assertThat(d.readFile("/other")).containsExactly(1, 2, 3);
    }
  }
}
