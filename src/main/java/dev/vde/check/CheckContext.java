package dev.vde.check;

import dev.vde.Progress;
import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.Volume;
import dev.vde.wal.Journal;
import java.io.IOException;

/**
 * What the check phases of one verifier run share: the published state they check (read once, so every phase
 * sees the same superblock and region directory), the findings, the progress callback and the counters.
 */
final class CheckContext {
  final Volume vol;
  final Superblock sb;
  final RegionDirectory regions;
  final int blockSize;
  final int payload;
  final long totalBlocks;
  final String resource;
  final Problems problems = new Problems();
  private final Progress progress;

  long blocksChecked;
  long inodesChecked;
  long filesChecked;
  /**
   * Set when some inode metadata (an inode-table block, an extent chain) could not be read: the blocks those
   * inodes own were never claimed, so "leaked" findings may be theirs.
   */
  boolean referencesIncomplete;

  CheckContext(Volume vol, Progress progress) {
    this.vol = vol;
    this.sb = vol.superblock();
    this.regions = vol.regions();
    this.blockSize = sb.blockSize();
    this.payload = BlockCodec.payloadSize(blockSize);
    this.totalBlocks = sb.totalBlocks();
    this.resource = vol.resource();
    this.progress = progress == null ? Progress.NONE : progress;
  }

  Journal journal() {
    return vol.journal();
  }

  void progress(String phase, long done, long total, String unit) {
    progress.update(phase, done, total, unit);
  }

  /**
   * Reads a metadata block as the engine would (newest published image, else the verified block) and counts it
   * as checked; returns null after recording a problem when its trailer does not hold.
   */
  byte[] readMetadata(long blockNo, BlockType type, String context) throws IOException {
    blocksChecked++;
    try {
      return journal().read(blockNo, type);
    } catch (VdeCorruptedException e) {
      problems.add(e, context);
      return null;
    }
  }

  /** Reads a metadata block an earlier phase already checked and reported on; null when it is damaged. */
  byte[] rereadMetadata(long blockNo, BlockType type) throws IOException {
    try {
      return journal().read(blockNo, type);
    } catch (VdeCorruptedException e) {
      return null;
    }
  }

  /** Reports a block whose trailer generation is not the one its owner implies. */
  void checkGeneration(byte[] block, long blockNo, BlockType type, long expected, String meaning) {
    int found = BlockCodec.storedGeneration(block);
    if (found != (int) expected) {
      problems.add(blockNo, type.structure(), "trailer generation is " + Integer.toUnsignedLong(found)
          + ", expected " + (expected & 0xFFFFFFFFL) + " (" + meaning + ")");
    }
  }

  /** True when {@code [start, start+count)} is a non-empty run inside the volume that does not touch block 0. */
  boolean inVolume(long start, long count) {
    return count > 0 && start > 0 && start < totalBlocks && count <= totalBlocks - start;
  }
}
