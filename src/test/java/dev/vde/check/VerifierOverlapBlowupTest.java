package dev.vde.check;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.vde.Progress;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.RegionDirectory;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.fs.Volume;
import dev.vde.inode.Extent;
import dev.vde.inode.ExtentBlockCodec;
import dev.vde.inode.Inode;
import dev.vde.inode.InodeCodec;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damage that passes every checksum: one file's inode lists the same physical run many times (at disjoint logical
 * positions, through an indirect extent chain). The verifier reports the physical duplicate once, but its data
 * phase used to read and hash the run again for every extent that named it: extents × run length blocks, so a
 * few kilobytes of damaged metadata (20 XTNT blocks) turned the check of a 64 MiB volume into some 60 million
 * block reads, which never ended in practice. Each block of an inode is now read once.
 */
class VerifierOverlapBlowupTest {
  private static final int BS = 4096;
  private static final int PAYLOAD = BS - BlockCodec.TRAILER_SIZE;

  @TempDir
  Path dir;

  @Test
  void anInodeRepeatingOneRunInManyExtentsIsVerifiedReadingEachBlockOnce() throws Exception {
    Path p = dir.resolve("blowup.vde");
    long n;
    Extent run;
    long tableBlock;
    int slotOff;
    int inodeSize;
    long totalBlocks;
    try (VirtualDisk d = VirtualDisk.create(p, CreateOptions.ofSize(64L << 20).blockSize(BS))) {
      d.writeFile("/big", new byte[48 << 20]);
      n = d.stat("/big").inode();
      Volume v = d.volume();
      List<Extent> xs = v.withStableState(() -> v.readInode(n)).extents();
      run = xs.get(0);
      inodeSize = d.info().inodeSize();
      int ipb = InodeCodec.perBlock(BS, inodeSize);
      tableBlock = d.volume().regions().find(RegionDirectory.TAG_INODES).start() + n / ipb;
      slotOff = (int) (n % ipb) * inodeSize;
      totalBlocks = d.info().totalBlocks();
    }
    assertThat(run.count()).as("precondition: one long run").isGreaterThan(12_000);
    int per = ExtentBlockCodec.perBlock(BS);
    int chainBlocks = 20;
    long extents = Inode.INLINE_EXTENTS + (long) chainBlocks * per;
    try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
      // Chain blocks in the last (free) blocks of the volume.
      long firstChain = totalBlocks - chainBlocks - 1;
      long logical = 0;
      byte[] t = read(raf, tableBlock);
      int o = slotOff;
      Bytes.put32(t, o + 12, (int) extents);
      Bytes.put64(t, o + 16, extents * run.count() * PAYLOAD);
      Bytes.put64(t, o + 56, firstChain);
      for (int i = 0; i < Inode.INLINE_EXTENTS; i++) {
        int e = o + 80 + i * Extent.SIZE;
        Bytes.put64(t, e, logical);
        Bytes.put64(t, e + 8, run.start());
        Bytes.put32(t, e + 16, run.count());
        logical += run.count();
      }
      BlockCodec.seal(t, BlockType.INODE_TABLE, BlockCodec.storedGeneration(t));
      write(raf, tableBlock, t);
      for (int c = 0; c < chainBlocks; c++) {
        List<Extent> xs = new ArrayList<>();
        for (int i = 0; i < per; i++) {
          xs.add(new Extent(logical, run.start(), run.count()));
          logical += run.count();
        }
        long next = c == chainBlocks - 1 ? 0 : firstChain + c + 1;
        write(raf, firstChain + c, ExtentBlockCodec.write(BS, xs, next, n));
      }
    }
    VerifyReport r = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
      try (VirtualDisk d = VirtualDisk.open(p, OpenOptions.readOnlyOptions())) {
        return d.verify(Progress.NONE);
      }
    });
    assertThat(r.problems()).anyMatch(q -> q.message().contains("referenced more than once"));
    long total = totalBlocks;
    assertThat(r.blocksChecked()).as("blocks read, on a volume of " + total).isLessThan(3 * total);
  }

  private static byte[] read(RandomAccessFile raf, long b) throws Exception {
    byte[] x = new byte[BS];
    raf.seek(b * BS);
    raf.readFully(x);
    return x;
  }

  private static void write(RandomAccessFile raf, long b, byte[] x) throws Exception {
    raf.seek(b * BS);
    raf.write(x);
  }
}
