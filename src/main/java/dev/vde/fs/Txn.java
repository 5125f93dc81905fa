package dev.vde.fs;

import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockType;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.wal.BlockImage;
import dev.vde.wal.DataCheck;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * One metadata transaction being built: working copies of the metadata blocks it changes, the blocks it
 * reserved and frees, the data blocks it wrote, and the in-memory cache updates to run once it is published.
 * Nothing here is visible to anyone else until {@link Volume#commit}; {@link Volume#abort} undoes the
 * reservations. Used by one thread, under the volume's writer lock.
 */
final class Txn {
  /** A working copy of one block; sealed with {@code type} and {@code generation} at commit. */
  static final class Image {
    final byte[] data;
    final BlockType type;
    int generation;

    Image(byte[] data, BlockType type, int generation) {
      this.data = data;
      this.type = type;
      this.generation = generation;
    }
  }

  final Volume vol;
  final LinkedHashMap<Long, Image> images = new LinkedHashMap<>();
  final List<long[]> reserved = new ArrayList<>();
  final List<long[]> freed = new ArrayList<>();
  final List<DataCheck> checks = new ArrayList<>();
  /**
   * Sealed new data blocks of a small unbatched transaction, which go through the WAL with its metadata
   * instead of in place (see {@link Volume#JOURNALED_DATA_BLOCKS}).
   */
  final List<BlockImage> dataImages = new ArrayList<>();
  final List<Runnable> onPublish = new ArrayList<>();
  /** Inodes whose extent chain this transaction changed: their cached chains are not what it sees. */
  final java.util.Set<Long> chainsChanged = new java.util.HashSet<>();
  long dataBlocks;
  /** Part of a running batch: its WAL entry is held until the batch ends (Journal.commit with held). */
  boolean held;
  Superblock sb;
  RegionDirectory regions;
  boolean regionsChanged;

  Txn(Volume vol) {
    this.vol = vol;
    this.sb = vol.superblock();
    this.regions = vol.regions();
  }

  boolean isEmpty() {
    return images.isEmpty() && reserved.isEmpty() && freed.isEmpty() && !regionsChanged && sb == vol.superblock();
  }

  /** The block as this transaction sees it: its own working copy, else the published state. */
  byte[] read(long blockNo, BlockType type) throws IOException {
    Image im = images.get(blockNo);
    return im != null ? im.data : vol.journal().read(blockNo, type);
  }

  /** A working copy of the block to modify in place; the first call copies the published state. */
  byte[] edit(long blockNo, BlockType type, int generation) throws IOException {
    Image im = images.get(blockNo);
    if (im == null) {
      im = new Image(vol.journal().read(blockNo, type).clone(), type, generation);
      images.put(blockNo, im);
    }
    return im.data;
  }

  /** Replaces the whole content of a block. */
  void put(long blockNo, BlockType type, int generation, byte[] content) {
    images.put(blockNo, new Image(content, type, generation));
  }

  /** Reserves up to {@code max} contiguous blocks for this transaction ({@link Volume#reserveUpTo}). */
  long[] allocate(long max, long near) throws IOException {
    long[] run = vol.reserveUpTo(max, near);
    reserved.add(run);
    return run;
  }

  /** Reserves exactly {@code count} contiguous blocks, or returns -1 without reserving anything. */
  long allocateContiguous(long count) throws IOException {
    long s = vol.bitmap().reserveRun(count);
    if (s < 0 && vol.hasUnreleasedFrees()) {
      vol.reclaimFreedBlocks();
      s = vol.bitmap().reserveRun(count);
    }
    if (s >= 0) {
      reserved.add(new long[] {s, count});
    }
    return s;
  }

  /** Like {@link #allocateContiguous} but always the lowest fitting run (regions are placed first fit). */
  long allocateFirstFit(long count) throws IOException {
    long s = vol.bitmap().reserveFirstFit(count);
    if (s < 0 && vol.hasUnreleasedFrees()) {
      vol.reclaimFreedBlocks();
      s = vol.bitmap().reserveFirstFit(count);
    }
    if (s >= 0) {
      reserved.add(new long[] {s, count});
    }
    return s;
  }

  /**
   * Frees blocks a file or directory held (data, directory or extent-chain blocks). Such blocks lie in the data
   * area; a range that reaches a superblock, the region directory, a region or past the end can only come from
   * damaged metadata (a cross-linked extent, say), and freeing it would hand a live metadata block to the next
   * file: it is refused, naming the range, and the operation changes nothing.
   */
  void free(long start, long count) throws VdeCorruptedException {
    if (count <= 0) {
      return;
    }
    long end = start + count;
    String clash = null;
    if (start < 2 || end > sb.totalBlocks() || end < start) {
      clash = "outside the data area";
    } else if (start < sb.regionDirStart() + sb.regionDirBlocks() && end > sb.regionDirStart()) {
      clash = "in the region directory";
    } else {
      for (RegionDirectory.Entry e : regions.entries()) {
        if (start < e.end() && end > e.start()) {
          clash = "in region " + e.tagText();
          break;
        }
      }
    }
    if (clash != null) {
      throw new VdeCorruptedException(start, "file data", "a file or directory maps blocks " + start + ".." + (end - 1)
          + ", which lie " + clash + "; nothing was freed (run 'vde fsck')", vol.resource());
    }
    freeRegion(start, count);
  }

  /** Frees blocks of a region the caller removes (a format transaction); no data-area check. */
  void freeRegion(long start, long count) {
    if (count > 0) {
      freed.add(new long[] {start, count});
    }
  }

  void free(List<long[]> runs) throws VdeCorruptedException {
    for (long[] r : runs) {
      free(r[0], r[1]);
    }
  }
}
