package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeCorruptedException;
import dev.vde.format.Bytes;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * The superblock's count of inodes in use damaged low (resealed). Each delete counted one less, below zero too,
 * and the transaction that did carried a superblock image that the checkpoint could not read: the volume stopped
 * (close threw), and recovery, which treats such a transaction as not committed, dropped that acknowledged
 * delete while the failed checkpoint had already put part of it in place, so the reopened volume had an entry
 * naming a free inode. A delete that would count fewer inodes than are certainly in use must be refused as
 * damage, and nothing changed.
 */
class InodesUsedDamageTest {
  @Test
  void aDeleteThatWouldCountFewerInodesThanTheRoot_isRefused_andTheVolumeStaysWhole() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("inodes used");
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(1 << 20).blockSize(512))) {
      d.writeFile("/a", new byte[] {1});
      d.writeFile("/b", new byte[] {2});
    }
    byte[] image = dev.durableSnapshot();
    // Two files and the root in use; the count says the root alone.
    Reseal.editSuperblocks(image, b -> Bytes.put64(b, 112, 1));
    PowerLossDevice damaged = PowerLossDevice.fromImage(image);
    try (VirtualDisk d = VirtualDisk.open(damaged, OpenOptions.defaults())) {
      for (String p : new String[] {"/a", "/b"}) {
        assertThatThrownBy(() -> d.delete(p)).as(p).isInstanceOf(VdeCorruptedException.class)
            .hasMessageContaining("inodes used is 1")
            .satisfies(t -> assertThat(((VdeCorruptedException) t).getBlockNo()).isZero());
        assertThatThrownBy(() -> d.deleteRecursively(p)).as(p).isInstanceOf(VdeCorruptedException.class);
      }
      assertThat(d.info().inodesUsed()).isEqualTo(1);
      d.writeFile("/c", new byte[] {3});
      d.checkpoint();
    }
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(damaged.durableSnapshot()),
        OpenOptions.defaults())) {
      assertThat(d.readFile("/a")).containsExactly(1);
      assertThat(d.readFile("/b")).containsExactly(2);
      assertThat(d.readFile("/c")).containsExactly(3);
      assertThat(d.verify(Progress.NONE).problems()).anySatisfy(p -> assertThat(p.toString())
          .contains("inodes used is 2, but the inode table"));
    }
  }
}
