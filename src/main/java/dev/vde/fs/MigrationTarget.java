package dev.vde.fs;

import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.InodeLayout;
import dev.vde.inode.InodeCodec;
import dev.vde.inode.InodeConverter;

/**
 * The new inode table of a migration in progress, as the engine's inode writes see it.
 *
 * <p>Invariant: every inode numbered below {@link #watermark()} has a current copy in the new table. The
 * migration raises the watermark only under the volume's writer lock, after writing the new-table blocks that
 * hold those inodes; every inode write below the watermark also writes the converted record into the new table
 * in the same transaction (InodeStore.put). So no foreground change is lost whichever side of the watermark it
 * falls on: above it, the copier has yet to read the (authoritative) old table.
 */
public final class MigrationTarget {
  private final long newTableStart;
  private final long newTableBlocks;
  private final InodeConverter converter;
  private final int perBlock;
  private volatile long watermark;

  public MigrationTarget(long newTableStart, long newTableBlocks, InodeLayout from, InodeLayout to, int blockSize,
      long watermark) {
    this.newTableStart = newTableStart;
    this.newTableBlocks = newTableBlocks;
    this.converter = new InodeConverter(java.util.Objects.requireNonNull(from, "from"),
        java.util.Objects.requireNonNull(to, "to"));
    this.perBlock = InodeCodec.perBlock(blockSize, to.inodeSize());
    this.watermark = watermark;
  }

  public long newTableStart() {
    return newTableStart;
  }

  public long newTableBlocks() {
    return newTableBlocks;
  }

  public InodeConverter converter() {
    return converter;
  }

  /** Inode records per new-table block. */
  public int perBlock() {
    return perBlock;
  }

  public long watermark() {
    return watermark;
  }

  /**
   * Whether {@code block}, read from index {@code index} of a new table, is as the copy writes it: whole (its
   * checksum holds), an inode-table block, with its index as its generation. A block never written, torn, damaged,
   * or left there by other data is not.
   */
  public static boolean isCopiedBlock(byte[] block, long index) {
    java.util.Objects.requireNonNull(block, "block");
    return BlockCodec.checksumMatches(block) && BlockCodec.storedTag(block) == BlockType.INODE_TABLE.tag()
        && BlockCodec.storedGeneration(block) == (int) index;
  }

  /** Raises the watermark; the caller holds the writer lock and has written the blocks below it. */
  public void advance(long newWatermark) {
    if (newWatermark < watermark) {
      throw new IllegalStateException("watermark may not go down: " + watermark + " -> " + newWatermark);
    }
    this.watermark = newWatermark;
  }
}
