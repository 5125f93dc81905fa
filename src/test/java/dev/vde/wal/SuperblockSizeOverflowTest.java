package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeCorruptedException;
import dev.vde.alloc.AllocationBitmap;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * SuperblockSlots.load refuses a superblock whose volume is longer than the host file with
 * {@code size < totalBlocks * blockSize}; at the largest values the fields may take (totalBlocks 2^48, blockSize
 * 65536) the product is 2^64, which overflows to 0, so a 4 MiB file claiming a 2^48-block volume is not refused as
 * truncated. A read-only open then goes on to read a bitmap of ~537 million 64 KiB blocks past the end of the file,
 * taking each unreadable one as all allocated: OutOfMemoryError (or, with heap to spare, hours of reading).
 */
class SuperblockSizeOverflowTest {
  private static final int BS = 65536;

  @Test
  void aVolumeOf2pow48BlocksOf64KiB_inA4MiBFile_isRefusedAsTruncated() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("overflow");
    VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(4L << 20).blockSize(BS).walBlocks(8).label("t"));
    RegionDirectory rd = d.volume().regions();
    d.close();
    byte[] image = dev.durableSnapshot();
    Superblock sb = SuperblockSlots.load(PowerLossDevice.fromImage(image)).superblock();

    long total = 1L << 48;
    List<RegionDirectory.Entry> es = new ArrayList<>();
    for (RegionDirectory.Entry e : rd.entries()) {
      es.add(e.tag() != RegionDirectory.TAG_BITMAP ? e
          : new RegionDirectory.Entry(e.tag(), e.flags(), 1L << 40, AllocationBitmap.blocksFor(total, BS)));
    }
    byte[] rdb = new RegionDirectory(es).write(BS, sb.regionDirBlocks()).get(0);
    System.arraycopy(rdb, 0, image, (int) (sb.regionDirStart() * BS), BS);
    for (int slot = 0; slot < 2; slot++) {
      long seq = (sb.sequence() & ~1L) + slot;
      byte[] s = sb.withCheckpoint(seq, sb.checkpointTxId(), sb.walSalt()).write();
      Bytes.put64(s, 16, total);
      BlockCodec.seal(s, BlockType.SUPERBLOCK, (int) seq);
      System.arraycopy(s, 0, image, slot * BS, BS);
    }
    assertThatThrownBy(() -> VirtualDisk.open(PowerLossDevice.fromImage(image), OpenOptions.readOnlyOptions()).close())
        .isInstanceOf(VdeCorruptedException.class).hasMessageContaining("truncated");
  }
}
