package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.vde.VdeCorruptedException;
import dev.vde.format.Bytes;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.inode.InodeCodec;
import dev.vde.testing.PowerLossDevice;
import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * A directory entry that names an inode whose record is free. The plain seed with the inode record of /a/two
 * (1,100 bytes) replaced by a free record (all zero, as FORMAT.md says a free record is), the inode-table block
 * resealed: the directory still lists /a/two as a file. The engine must report the dangling entry; it reads the
 * free record as an empty file and returns 0 bytes without any error, and a writable open then hands the same
 * inode number to the next new file, so two names share one inode.
 */
class FreeInodeReferenceTest {

  private static byte[] damaged(long[] inodeOut) throws IOException {
    FuzzCorpus.Seed plain = FuzzCorpus.plain();
    long inode;
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(plain.image()), OpenOptions.readOnlyOptions())) {
      inode = d.stat("/a/two").inode();
      assertThat(d.readFile("/a/two")).hasSize(1100);
    }
    inodeOut[0] = inode;
    byte[] image = plain.image();
    Superblock sb = ImageEdit.newestSuperblock(image);
    RegionDirectory.Entry table = Reseal.regions(image).find(RegionDirectory.TAG_INODES);
    int ipb = InodeCodec.perBlock(sb.blockSize(), sb.inodeSize());
    int off = (int) (inode % ipb) * sb.inodeSize();
    Reseal.editBlock(image, table.start() + inode / ipb, b -> Arrays.fill(b, off, off + sb.inodeSize(), (byte) 0));
    return image;
  }

  @Test
  void readFile_ofAnEntryNamingAFreeInode_reportsCorruption() throws IOException {
    byte[] image = damaged(new long[1]);
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(image), OpenOptions.readOnlyOptions())) {
      Throwable t = catchThrowable(() -> {
        byte[] got = d.readFile("/a/two");
        throw new AssertionError("readFile(/a/two) returned " + got.length + " bytes without error (the file had "
            + "1100); stat says size " + d.stat("/a/two").size());
      });
      assertThat(t).isInstanceOf(VdeCorruptedException.class);
    }
  }

  /**
   * What a writer cannot tell: the free inode is free in the table, so a new file may take its number (no index
   * of which entries name which inode exists to ask). The verifier, which walks the whole tree, reports the
   * entry, so a check before writing to a damaged volume finds it.
   */
  @Test
  void verify_ofAVolumeWithAnEntryNamingAFreeInode_reportsTheEntry() throws IOException {
    long[] inode = new long[1];
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(damaged(inode)), OpenOptions.readOnlyOptions())) {
      assertThat(d.verify(dev.vde.Progress.NONE).problems()).anySatisfy(p -> assertThat(p.toString())
          .contains("inode " + inode[0]));
    }
  }
}
