package dev.vde.module.copy;

import static dev.vde.module.copy.CopyFixtures.PAYLOAD;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.vde.VdeException;
import dev.vde.format.Module;
import dev.vde.fs.VirtualDisk;
import dev.vde.inode.Inode;
import dev.vde.testing.SeededBytes;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A copy with verification of a volume holding sparse files (a size far beyond what the extents map, as truncate
 * and writes past the end make them) compares what the files map and skips their holes: it reads as much as the
 * files hold, not as much as their sizes say, while the source's writers wait for it.
 */
class SparseFileCopyTest {
  @TempDir
  Path tmp;

  @Test
  void verifyingACopyOfHugeSparseFilesTakesTimeForWhatTheyMapNotForTheirSize() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("dst.vde");
    byte[] head = SeededBytes.bytes(1, 3 * PAYLOAD + 5);
    byte[] far = SeededBytes.bytes(2, 2 * PAYLOAD);
    long farAt = (1L << 40) + 7;
    // Closed only after the copy returned: a comparison still running holds the source's writer lock.
    VirtualDisk d = CopyFixtures.create(src, 16L << 20);
    {
      d.writeFile("/sparse", head);
      d.write("/sparse", farAt, far, 0, far.length);
      d.truncate("/sparse", Inode.MAX_FILE_SIZE);
      d.writeFile("/only-a-hole", new byte[0]);
      d.truncate("/only-a-hole", 1L << 50);
      CopyFixtures.fragmented(d, "/fragmented", 12);
      d.truncate("/fragmented", 1L << 45);

      assertTimeoutPreemptively(Duration.ofSeconds(60), () -> ExtentAwareCopy.copy(d, dst,
          CopyOptions.defaults().addModule(Module.TAGS).verify(true)));
      d.close();
    }
    try (VirtualDisk c = VirtualDisk.open(dst)) {
      assertThat(c.stat("/sparse").size()).isEqualTo(Inode.MAX_FILE_SIZE);
      assertThat(c.stat("/only-a-hole").size()).isEqualTo(1L << 50);
      byte[] got = new byte[head.length + 10];
      assertThat(c.read("/sparse", 0, got, 0, got.length)).isEqualTo(got.length);
      assertThat(java.util.Arrays.copyOf(got, head.length)).isEqualTo(head);
      assertThat(java.util.Arrays.copyOfRange(got, head.length, got.length)).containsOnly(0);
      byte[] around = new byte[far.length + 2];
      assertThat(c.read("/sparse", farAt - 1, around, 0, around.length)).isEqualTo(around.length);
      assertThat(java.util.Arrays.copyOfRange(around, 1, far.length + 1)).isEqualTo(far);
      assertThat(around[0]).isZero();
      assertThat(around[far.length + 1]).isZero();
      CopyFixtures.assertClean(c, "copy of sparse files");
    }
  }

  @Test
  void aDifferenceInsideAHugeSparseFileIsStillFound() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("dst.vde");
    long farAt = 1L << 40;
    VirtualDisk d = CopyFixtures.create(src, 16L << 20);
    {
      d.writeFile("/sparse", SeededBytes.bytes(3, PAYLOAD));
      d.write("/sparse", farAt, SeededBytes.bytes(4, 100), 0, 100);
      d.truncate("/sparse", 1L << 50);
      ExtentAwareCopy.copy(d, dst, CopyOptions.defaults());
      long farBlock = dataBlockOf(d, "/sparse", farAt / PAYLOAD);

      // The copy keeps the source's block numbers; one byte of the far block differs, its trailer resealed so
      // that only the comparison of contents can tell.
      try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(dst,
          java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
        ByteBuffer b = ByteBuffer.allocate(CopyFixtures.BS);
        ch.read(b, farBlock * CopyFixtures.BS);
        byte[] block = b.array();
        block[10] ^= 1;
        dev.vde.format.BlockCodec.seal(block, dev.vde.format.BlockType.DATA,
            dev.vde.format.BlockCodec.storedGeneration(block));
        ch.write(ByteBuffer.wrap(block), farBlock * CopyFixtures.BS);
      }
      VirtualDisk c = VirtualDisk.open(dst);
      {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> assertThatThrownBy(
            () -> d.volume().withWritersPaused(() -> {
              CopyContext cx = new CopyContext(CopyOptions.defaults(), dst.toString());
              SourceView view = SourceView.of(d.volume());
              DestinationGeometry g = DestinationGeometry.of(view.sb, CopyOptions.defaults());
              CopyPlan plan = RelocationPlanner.plan(g, InventoryScanner.scan(view, cx, g.metadataEnd()));
              CopyVerifier.verify(d, c, plan, cx);
              return null;
            }))
            .isInstanceOf(VdeException.class)
            .hasMessageContaining("/sparse differs"));
        c.close();
      }
      d.close();
    }
  }

  private static long dataBlockOf(VirtualDisk d, String path, long logical) throws Exception {
    return d.volume().withStableState(() -> dev.vde.inode.ExtentMap.physical(
        d.volume().readInode(d.stat(path).inode()).extents(), logical));
  }
}
