package dev.vde.module.copy;

import dev.vde.alloc.FreeSpaceScanner;
import dev.vde.format.BlockType;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.Volume;
import dev.vde.io.BlockDevice;
import dev.vde.wal.Journal;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The source volume as the copy reads it. Taken while the source's writers are paused, so the superblock,
 * region directory and durable bitmap captured here stay what they are until the copy ends.
 *
 * <p>Metadata blocks (inode table, directory and extent blocks) are read through the journal, which returns the
 * newest published image of a block changed since the last checkpoint: the block in place may be older. File data
 * is read from the device in bulk and overlaid with the journal's images of small transactions' data blocks,
 * which reach their place only at the next checkpoint.
 */
final class SourceView {
  final Volume vol;
  final Superblock sb;
  final RegionDirectory regions;
  final int blockSize;
  final String resource;
  private final long[] bitmapWords;
  /** Read while writers run ({@link #whileRunning}): what the bitmap says may be older or newer than any inode. */
  final boolean running;
  private final Journal journal;
  private final BlockDevice device;
  /** The source's metadata as sorted {start, end} ranges: blocks 0 to the region directory's end, every region. */
  private final List<long[]> metadata;

  private SourceView(Volume vol, boolean running) {
    this.vol = vol;
    this.sb = vol.superblock();
    this.regions = vol.regions();
    this.blockSize = sb.blockSize();
    this.resource = vol.resource();
    this.running = running;
    this.bitmapWords = vol.bitmap().durableWords();
    this.journal = vol.journal();
    this.device = vol.device();
    List<long[]> ranges = new ArrayList<>();
    ranges.add(new long[] {0, sb.regionDirStart() + sb.regionDirBlocks()});
    for (RegionDirectory.Entry e : regions.entries()) {
      ranges.add(new long[] {e.start(), e.end()});
    }
    ranges.sort(Comparator.comparingLong(r -> r[0]));
    this.metadata = List.copyOf(ranges);
  }

  /** Captures the source's published state; the caller holds its writers paused. */
  static SourceView of(Volume vol) {
    return new SourceView(vol, false);
  }

  /**
   * The source while its writers run: what is read through it may mix states published at different moments
   * (each no older than the moment this is called), so a plan made from it may fail its own consistency checks,
   * and its bitmap is not compared with the inodes at all (a file rewritten while the scan runs would fail that
   * comparison nearly every time; counts taken from the bitmap are approximate).
   */
  static SourceView whileRunning(Volume vol) {
    return new SourceView(vol, true);
  }

  long totalBlocks() {
    return sb.totalBlocks();
  }

  long inodeTableStart() {
    return regions.find(RegionDirectory.TAG_INODES).start();
  }

  /** The metadata range {@code [start, start+count)} overlaps, or null. */
  long[] metadataOverlapping(long start, long count) {
    for (long[] r : metadata) {
      if (r[0] < start + count && start < r[1]) {
        return r;
      }
    }
    return null;
  }

  /** What a metadata range holds, for messages. */
  String describeMetadata(long[] range) {
    for (RegionDirectory.Entry e : regions.entries()) {
      if (e.start() == range[0] && e.end() == range[1]) {
        return "region " + e.tagText();
      }
    }
    return "superblocks and region directory";
  }

  /** Blocks the bitmap marks allocated outside the metadata: file data, directory and extent blocks. */
  long allocatedDataBlocks() {
    long total = totalBlocks();
    long allocated = total - FreeSpaceScanner.countFree(bitmapWords, total);
    for (long[] r : metadata) {
      long end = Math.min(r[1], total);
      long[] inRange = {0};
      FreeSpaceScanner.allocatedRuns(bitmapWords, Math.min(r[0], end), end, (s, c) -> {
        inRange[0] += c;
        return true;
      });
      allocated -= inRange[0];
    }
    return allocated;
  }

  /** As {@link #allocatedDataBlocks}, counting only blocks below {@code end}. */
  long allocatedDataBlocksBelow(long end) {
    long limit = Math.min(end, totalBlocks());
    long[] allocated = {0};
    FreeSpaceScanner.allocatedRuns(bitmapWords, 0, limit, (s, c) -> {
      allocated[0] += c;
      return true;
    });
    for (long[] r : metadata) {
      long to = Math.min(r[1], limit);
      FreeSpaceScanner.allocatedRuns(bitmapWords, Math.min(r[0], to), to, (s, c) -> {
        allocated[0] -= c;
        return true;
      });
    }
    return allocated[0];
  }

  /** First block of {@code [start, start+count)} the bitmap marks free, or -1 when all are allocated. */
  long firstFreeIn(long start, long count) {
    long b = FreeSpaceScanner.nextClear(bitmapWords, start, start + count);
    return b < start + count ? b : -1;
  }

  /** A metadata block, verified, in its newest published version. */
  byte[] readMetadata(long blockNo, BlockType type) throws IOException {
    return journal.read(blockNo, type);
  }

  /**
   * Reads the current content of {@code count} blocks from {@code first} into the start of {@code buf}: what is in
   * place, overlaid with the journal's images of blocks changed since the last checkpoint. The images are looked
   * up before the device is read, because one that leaves the journal meanwhile (a checkpoint) is in place by then.
   * With {@code bulk}, blocks the copy reads once and passes on (its data): read past the host's page cache where
   * the device can ({@link BlockDevice#readBulk}).
   */
  void readCurrent(long first, int count, ByteBuffer buf, boolean bulk) throws IOException {
    byte[][] newer = journal.images(first, count, false);
    ByteBuffer b = buf.duplicate();
    b.clear().limit(count * blockSize);
    if (bulk) {
      device.readBulk(first * blockSize, b);
    } else {
      device.read(first * blockSize, b);
    }
    if (newer != null) {
      for (int k = 0; k < count; k++) {
        if (newer[k] != null) {
          buf.put(k * blockSize, newer[k]);
        }
      }
    }
  }
}
