package dev.vde.module;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.BlockDevice;
import dev.vde.io.ForwardingBlockDevice;
import dev.vde.testing.PowerLossDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The blocks the analysis says the padding claim and the region addition write. Their one transaction writes a
 * descriptor, one image each of the bitmap blocks the new regions cover, of the region directory (only when regions
 * are added) and of the superblock, and a commit record to the WAL, then the images in place. The figure counted the
 * region directory for modules without regions (a third of the figure at 512-byte blocks, whose directory has four
 * blocks) and a bitmap block for every region, though several regions usually share one.
 */
class InPlaceFiguresTest {
  /** Remembers which blocks are written while {@code counting} is set. */
  private static final class Recording extends ForwardingBlockDevice {
    final int blockSize;
    final TreeSet<Long> written = new TreeSet<>();
    volatile boolean counting;

    Recording(BlockDevice inner, int blockSize) {
      super(inner);
      this.blockSize = blockSize;
    }

    @Override
    public synchronized void write(long pos, ByteBuffer src) throws IOException {
      if (counting) {
        for (long b = pos / blockSize; b < (pos + src.remaining() + blockSize - 1) / blockSize; b++) {
          written.add(b);
        }
      }
      delegate.write(pos, src);
    }
  }

  private static void check(int blockSize, long size, List<Module> modules, AdditionOption option, long images)
      throws Exception {
    PowerLossDevice made = new PowerLossDevice("made");
    try (VirtualDisk d = VirtualDisk.create(made, CreateOptions.ofSize(size).blockSize(blockSize))) {
      d.writeFile("/a", new byte[] {1});
    }
    Recording dev = new Recording(PowerLossDevice.fromImage("add", made.snapshot()), blockSize);
    try (VirtualDisk d = VirtualDisk.open(dev, OpenOptions.defaults())) {
      ModulePlanner.OptionAnalysis o = ModulePlanner.analyze(d, modules).option(option);
      assertThat(o.feasible()).as("%s", o.reason()).isTrue();
      dev.counting = true;
      ModuleOrchestrator.execute(d, modules, option, null);
      dev.counting = false;
      // The transaction's WAL blocks: a descriptor, the images, a commit record.
      assertThat(dev.written).as("WAL blocks written by adding %s", modules).hasSize((int) images + 2);
      assertThat(o.blocksWritten()).as("%s of %s at %d-byte blocks", option, modules, blockSize)
          .isEqualTo(dev.written.size() + images);
    }
  }

  @Test
  void aFieldOnlyClaim_writesTheSuperblockAlone() throws Exception {
    check(512, 2L << 20, List.of(Module.TRANSIT), AdditionOption.PADDING, 1);
    check(4096, 8L << 20, List.of(Module.SUSTAINABILITY, Module.TRANSIT), AdditionOption.PADDING, 1);
  }

  @Test
  void regionsInOneBitmapBlock_countItOnce() throws Exception {
    // Two regions, both in bitmap block 0: one bitmap image, the directory's one block, the superblock.
    check(4096, 8L << 20, List.of(Module.RAID, Module.COMPRESSION), AdditionOption.PADDING, 3);
    check(4096, 8L << 20, List.of(Module.SNAPSHOT, Module.FABRIC), AdditionOption.REGION, 3);
  }
}
