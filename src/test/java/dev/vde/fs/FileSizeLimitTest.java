package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeCorruptedException;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.VdeNoSpaceException;
import dev.vde.inode.Extent;
import dev.vde.inode.ExtentMap;
import dev.vde.inode.Inode;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Sizes and positions near the top of a long, and the inode count at its very end: arithmetic that used to
 * overflow (a shrink that freed a whole file, a write past 2^63 that reported success and wrote nothing, a stream
 * of a huge sparse file that delivered nothing) and a count that refused the last free inodes.
 */
class FileSizeLimitTest {
  @Test
  void writesAndTruncatesPastTheLargestFileSize_areRefused_andChangeNothing() throws IOException {
    try (TestVolumes.Volume v = TestVolumes.create(4096)) {
      VirtualDisk d = v.disk();
      byte[] a = SeededBytes.bytes(1, 3 * d.volume().payload());
      d.writeFile("/f", a);
      byte[] data = SeededBytes.bytes(2, 100);

      assertThatThrownBy(() -> d.write("/f", Long.MAX_VALUE - 10, data, 0, data.length))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("largest file size");
      assertThatThrownBy(() -> d.write("/f", Inode.MAX_FILE_SIZE - 99, data, 0, data.length))
          .isInstanceOf(VdeInvalidArgumentException.class);
      assertThatThrownBy(() -> d.truncate("/f", Inode.MAX_FILE_SIZE + 1))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("2^62");

      assertThat(d.readFile("/f")).isEqualTo(a);
      d.truncate("/f", Inode.MAX_FILE_SIZE);
      assertThatThrownBy(() -> d.append("/f", data)).isInstanceOf(VdeInvalidArgumentException.class);
      assertThat(d.stat("/f").size()).isEqualTo(Inode.MAX_FILE_SIZE);
      TestVolumes.assertClean(d.verify(Progress.NONE), "after the refusals");
    }
  }

  @Test
  void aWriteEndingExactlyAtTheLargestFileSize_isKept() throws IOException {
    try (TestVolumes.Volume v = TestVolumes.create(4096)) {
      VirtualDisk d = v.disk();
      d.writeFile("/f", new byte[] {1});
      byte[] data = SeededBytes.bytes(3, 100);
      d.write("/f", Inode.MAX_FILE_SIZE - data.length, data, 0, data.length);
      assertThat(d.stat("/f").size()).isEqualTo(Inode.MAX_FILE_SIZE);
      byte[] back = new byte[data.length];
      assertThat(d.read("/f", Inode.MAX_FILE_SIZE - data.length, back, 0, back.length)).isEqualTo(data.length);
      assertThat(back).isEqualTo(data);
      byte[] head = new byte[1];
      d.read("/f", 0, head, 0, 1);
      assertThat(head[0]).isEqualTo((byte) 1);
    }
  }

  @Test
  void shrinkingAHugeSparseFile_keepsItsData() throws IOException {
    try (TestVolumes.Volume v = TestVolumes.create(4096)) {
      VirtualDisk d = v.disk();
      byte[] a = SeededBytes.bytes(4, 3 * d.volume().payload());
      d.writeFile("/f", a);
      d.truncate("/f", Inode.MAX_FILE_SIZE);
      d.truncate("/f", Inode.MAX_FILE_SIZE - 1);
      byte[] head = new byte[a.length];
      d.read("/f", 0, head, 0, head.length);
      assertThat(Arrays.mismatch(head, a)).as("first difference").isEqualTo(-1);
      assertThat(d.stat("/f").extentCount()).isEqualTo(1);
    }
  }

  /** Streams the start of a 2^62-byte sparse file: its data, then zeros, until the receiver stops it. */
  @Test
  void streamingAHugeSparseFile_deliversItsDataAndThenZeros() throws IOException {
    try (TestVolumes.Volume v = TestVolumes.create(4096)) {
      VirtualDisk d = v.disk();
      byte[] a = SeededBytes.bytes(5, 5 * d.volume().payload() + 7);
      d.writeFile("/f", a);
      d.truncate("/f", Inode.MAX_FILE_SIZE);
      int want = 24 << 20;
      byte[] got = new byte[want];
      int[] n = {0};
      OutputStream out = new OutputStream() {
        @Override
        public void write(int b) {
          write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
          int k = Math.min(len, want - n[0]);
          System.arraycopy(b, off, got, n[0], k);
          n[0] += k;
          if (n[0] >= want) {
            throw new IllegalStateException("enough");
          }
        }
      };
      assertThatThrownBy(() -> d.readFile("/f", out)).hasMessage("enough");
      assertThat(n[0]).isEqualTo(want);
      assertThat(Arrays.copyOf(got, a.length)).isEqualTo(a);
      byte[] zeros = new byte[want - a.length];
      assertThat(Arrays.copyOfRange(got, a.length, want)).isEqualTo(zeros);
    }
  }

  @Test
  void mkdirs_canUseTheLastFreeInodes() throws IOException {
    try (VirtualDisk d = VirtualDisk.create(new PowerLossDevice("inodes"),
        CreateOptions.ofSize(4L << 20).blockSize(4096).inodeCount(64))) {
      for (int i = 0; i < 58; i++) {
        d.writeFile("/f" + i, new byte[0]);
      }
      assertThat(d.info().inodesUsed()).isEqualTo(59);

      d.mkdirs("/a/b/c/d");

      assertThat(d.exists("/a/b/c/d")).isTrue();
      assertThat(d.info().inodesUsed()).isEqualTo(63);
      assertThatThrownBy(() -> d.mkdir("/e")).isInstanceOf(VdeNoSpaceException.class)
          .hasMessageContaining("no free inodes");
      TestVolumes.assertClean(d.verify(Progress.NONE), "with every inode in use");
    }
  }

  /** A file an older version let grow past 2^62 bytes still lists, shrinks and deletes, and the volume verifies. */
  @Test
  void aFileLargerThanTheLimit_madeByAnOlderVersion_staysUsable() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("older huge file");
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(4096));
    d.writeFile("/big", new byte[] {1, 2, 3});
    d.writeFile("/other", new byte[10]);
    long ino = d.stat("/big").inode();
    Volume vol = d.volume();
    long huge = Inode.MAX_FILE_SIZE + 4096;
    d.mutate(t -> {
      Inode old = vol.inodes.read(t, ino);
      vol.inodes.write(t, old.withExtents(old.extents(), huge, old.indirectBlock(), 0), old);
      return null;
    });
    d.close();
    try (VirtualDisk r = TestVolumes.open(dev.powerLoss(PowerLossDevice.KeepPolicy.NONE))) {
      assertThat(r.list("/")).hasSize(2);
      assertThat(r.stat("/big").size()).isEqualTo(huge);
      byte[] head = new byte[3];
      r.read("/big", 0, head, 0, 3);
      assertThat(head).containsExactly(1, 2, 3);
      TestVolumes.assertClean(r.verify(Progress.NONE), "with the huge file");
      r.truncate("/big", 2);
      assertThat(r.readFile("/big")).containsExactly(1, 2);
      r.delete("/big");
      assertThat(r.exists("/big")).isFalse();
    }
  }

  /** An extent whose logical end overflows is damage, not a list the readers must cope with. */
  @Test
  void anExtentWhoseEndOverflows_isRefusedAsDamage_byEveryRead() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("wrapped extent");
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(4096));
    d.writeFile("/f", new byte[100]);
    long ino = d.stat("/f").inode();
    Volume vol = d.volume();
    d.mutate(t -> {
      Inode old = vol.inodes.read(t, ino);
      long p = old.extents().get(0).start();
      vol.inodes.write(t, old.withExtents(List.of(new Extent(Long.MAX_VALUE - 1, p, 4),
          new Extent(0, p, 1)), 100, 0, 0), old);
      return null;
    });
    d.close();
    try (VirtualDisk r = TestVolumes.open(dev.powerLoss(PowerLossDevice.KeepPolicy.NONE))) {
      assertThatThrownBy(() -> r.readFile("/f")).isInstanceOf(VdeCorruptedException.class);
      assertThatThrownBy(() -> r.readFile("/f", OutputStream.nullOutputStream()))
          .isInstanceOf(VdeCorruptedException.class);
    }
  }

  /**
   * Cutting a file into pieces costs a binary search per hole: 80,000 one-block extents alternating with holes
   * (a scan of every extent per hole took about 6 s here) are cut in well under the bound, into the right pieces.
   */
  @Test
  void cuttingAFileOfManyExtentsAndHolesIntoPieces_isFastAndExact() {
    int n = 80_000;
    List<Extent> xs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      xs.add(new Extent(2L * i + 1, 1000 + 2L * i, 1));
    }
    FileStreamer.Pieces pieces = new FileStreamer.Pieces(ExtentMap.normalize(xs), 2L * n + 1, 1024);
    long t0 = System.nanoTime();
    long next = 0;
    int count = 0;
    while (pieces.hasNext()) {
      FileStreamer.Piece p = pieces.next();
      assertThat(p.logical()).isEqualTo(next);
      assertThat(p.count()).isEqualTo(1);
      assertThat(p.phys()).isEqualTo(p.logical() % 2 == 1 ? 1000 + p.logical() - 1 : -1);
      next += p.count();
      count++;
    }
    assertThat(count).isEqualTo(2 * n + 1);
    assertThat((System.nanoTime() - t0) / 1_000_000).as("milliseconds").isLessThan(2_000);
  }
}
