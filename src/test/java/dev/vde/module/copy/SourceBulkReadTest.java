package dev.vde.module.copy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.BlockDevice;
import dev.vde.io.FileBlockDevice;
import dev.vde.io.ForwardingBlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The copy reads its source's data in bulk reads the file device can serve past the host's page cache: direct,
 * aligned buffers at aligned offsets and lengths. A copy whose buffers did not qualify would still be correct,
 * only slower and evicting the host's cache, which no other test would notice.
 */
class SourceBulkReadTest {
  @TempDir
  Path tmp;

  /**
   * Forwards everything; records each bulk read and whether the direct path could take it. The copy reads on
   * several threads at once, so the record is kept thread-safe: a plain counter lost updates and the test failed
   * now and then with fewer bytes counted than the copy had read.
   */
  private static final class BulkRecorder extends ForwardingBlockDevice {
    final List<String> unqualified = new CopyOnWriteArrayList<>();
    final AtomicLong bulkBytes = new AtomicLong();

    BulkRecorder(BlockDevice d) {
      super(d);
    }

    @Override
    public void readBulk(long pos, ByteBuffer dst) throws IOException {
      int a = BlockDevice.BULK_ALIGNMENT;
      if (!dst.isDirect() || pos % a != 0 || dst.remaining() % a != 0 || dst.alignmentOffset(dst.position(), a) != 0) {
        unqualified.add(dst.remaining() + " bytes at " + pos + (dst.isDirect() ? "" : " (heap buffer)"));
      }
      bulkBytes.addAndGet(dst.remaining());
      delegate.readBulk(pos, dst);
    }
  }

  @Test
  void everyDataBlockIsReadInBulk_throughBuffersTheDirectPathTakes() throws IOException {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("dst.vde");
    try (VirtualDisk d = VirtualDisk.create(src, CreateOptions.ofSize(16L << 20).blockSize(CopyFixtures.BS))) {
      CopyFixtures.populate(d);
      d.writeFile("/big", new byte[3 << 20]);
    }
    Map<String, String> before;
    CopyResult r;
    BulkRecorder rec = new BulkRecorder(FileBlockDevice.open(src, true));
    try (VirtualDisk d = VirtualDisk.open(rec, OpenOptions.readOnlyOptions())) {
      before = CopyFixtures.tree(d);
      r = ExtentAwareCopy.copy(d, dst, CopyOptions.defaults());
    }
    assertThat(rec.unqualified).as("bulk reads the direct path cannot take").isEmpty();
    assertThat(rec.bulkBytes.get()).as("bytes read in bulk: at least every data block copied")
        .isGreaterThanOrEqualTo((r.blocksCopied() - 64) * CopyFixtures.BS).isPositive();
    try (VirtualDisk c = VirtualDisk.open(dst)) {
      assertThat(CopyFixtures.tree(c)).isEqualTo(before);
      CopyFixtures.assertClean(c, "copy read in bulk");
    }
  }
}
