package dev.vde.format;

import dev.vde.fs.DirectoryBlockCodec;
import dev.vde.inode.ExtentBlockCodec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Finds blocks in a raw image by their trailer alone, the way a forensic tool would, so that the corruption tests
 * depend on nothing but the documented formats: a block whose checksum matches and whose tag is known is counted
 * under that tag. A tag alone does not make a block live: the metadata WAL holds whole block images under their
 * original tags (BMAP, INOD, SUPB, ...), so the superblock and region directory say where the real regions are.
 */
final class ImageScan {
  private final byte[] image;
  private final int blockSize;
  private final Map<BlockType, List<Long>> byType = new EnumMap<>(BlockType.class);

  ImageScan(byte[] image, int blockSize) {
    this.image = image;
    this.blockSize = blockSize;
    long blocks = image.length / blockSize;
    for (long b = 0; b < blocks; b++) {
      byte[] blk = block(b);
      if (Bytes.isZero(blk, 0, blk.length) || !BlockCodec.checksumMatches(blk)) {
        continue;
      }
      BlockType t = BlockType.fromTag(BlockCodec.storedTag(blk));
      if (t != null) {
        byType.computeIfAbsent(t, k -> new ArrayList<>()).add(b);
      }
    }
  }

  /** The newer valid superblock copy of blocks 0 and 1 (by sequence). */
  Superblock superblock() {
    Superblock best = null;
    for (long b = 0; b < 2; b++) {
      try {
        Superblock sb = Superblock.read(block(b), b, "scan");
        if (best == null || sb.sequence() > best.sequence()) {
          best = sb;
        }
      } catch (Exception e) {
        // A damaged copy; the other one decides.
      }
    }
    if (best == null) {
      throw new IllegalStateException("neither superblock copy decodes");
    }
    return best;
  }

  /** The region directory the superblock points at. */
  RegionDirectory regions() {
    Superblock sb = superblock();
    List<byte[]> blocks = new ArrayList<>();
    for (int i = 0; i < sb.regionDirBlocks(); i++) {
      blocks.add(block(sb.regionDirStart() + i));
    }
    try {
      return RegionDirectory.read(blocks, sb.regionDirStart(), "scan");
    } catch (Exception e) {
      throw new IllegalStateException("region directory does not decode", e);
    }
  }

  /** Whether {@code blockNo} lies in the core region whose tag is {@code tag} (e.g. the bitmap's). */
  boolean inRegion(int tag, long blockNo) {
    RegionDirectory.Entry e = regions().find(tag);
    return e != null && blockNo >= e.start() && blockNo < e.end();
  }

  /** Whether {@code blockNo} is one of the region directory's own blocks. */
  boolean inRegionDirectory(long blockNo) {
    Superblock sb = superblock();
    return blockNo >= sb.regionDirStart() && blockNo < sb.regionDirStart() + sb.regionDirBlocks();
  }

  byte[] block(long blockNo) {
    int from = Math.toIntExact(blockNo * blockSize);
    return Arrays.copyOfRange(image, from, from + blockSize);
  }

  List<Long> blocksOf(BlockType t) {
    return byType.getOrDefault(t, List.of());
  }

  /** Decoded entries of a DIRE block, or null when it does not decode. */
  List<DirectoryBlockCodec.Entry> directoryEntries(long blockNo) {
    try {
      return DirectoryBlockCodec.read(block(blockNo), blockNo, "scan");
    } catch (Exception e) {
      return null;
    }
  }

  /** Decoded XTNT block, or null when it does not decode. */
  ExtentBlockCodec.Decoded extents(long blockNo) {
    try {
      return ExtentBlockCodec.read(block(blockNo), blockNo, "scan");
    } catch (Exception e) {
      return null;
    }
  }

  int generation(long blockNo) {
    return BlockCodec.storedGeneration(block(blockNo));
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder();
    for (Map.Entry<BlockType, List<Long>> e : byType.entrySet()) {
      sb.append(e.getKey().ascii()).append('=').append(e.getValue().size()).append(' ');
    }
    return sb.toString().trim();
  }
}
