package dev.vde.module;

import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.MigrationTarget;
import dev.vde.fs.Volume;
import dev.vde.inode.InodeCodec;
import dev.vde.inode.InodeConverter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Copies the inode table into the new table one batch at a time for {@link InodeMigration}, with buffers the
 * whole run shares. The caller holds the writer lock for the whole of {@link #copyBatch}, so a batch is one step of
 * the protocol: old blocks read, inodes converted, new blocks written, and only then the watermark raised (see
 * {@link MigrationTarget} for why no foreground change is lost).
 *
 * <p>One thread. Splitting a large batch between the caller and a helper thread, each reading, converting and
 * writing its own blocks, was tried and measured: a million-inode migration command took the same time (0.79 s
 * against 0.76 s, medians of 10), as the host file system serializes the two writes into one file and the reads
 * compete with the writeback the syncs start.
 */
final class BatchCopier {
  /** Largest number of new-table blocks copied while holding the writer lock. */
  static final int MAX_BATCH_BLOCKS = 256;

  /** Old-table blocks of the batch; contents undefined between batches (each batch reads its blocks first). */
  private byte[] old = new byte[0];
  /**
   * New-table blocks of the batch; every byte of a block is written before it is sealed. Reused: fresh megabyte
   * arrays per batch cost more than the copy itself (each is a new stretch of heap that the kernel must fault in
   * and zero; measured: 5.5 ms of CPU per 1 MiB batch with fresh arrays, 0.9 ms with these).
   */
  private byte[] fresh = new byte[0];

  /** The inodes a migration copies: the initialized part of the current table. */
  static long inodesToCopy(Superblock sb) {
    int ipbOld = InodeCodec.perBlock(sb.blockSize(), sb.inodeSize());
    return Math.min(sb.inodeCount(), sb.inodeTableInitBlocks() * ipbOld);
  }

  /**
   * Copies whole new-table blocks from the one holding the watermark, up to the next multiple of {@code every}
   * or {@code maxBlocks} blocks, then raises the watermark. Call with the writer lock held. Returns {new
   * watermark, total inodes to copy, block I/Os}.
   */
  long[] copyBatch(Volume v, MigrationTarget tgt, long every, long maxBlocks) throws IOException {
    Superblock sb = v.superblock();
    int bs = sb.blockSize();
    long total = inodesToCopy(sb);
    long w = tgt.watermark();
    if (w >= total) {
      return new long[] {w, total, 0};
    }
    int ipbNew = tgt.perBlock();
    int ipbOld = InodeCodec.perBlock(bs, sb.inodeSize());
    long nb0 = w / ipbNew;
    long end = Math.min(total, every == Long.MAX_VALUE ? total : (w / every + 1) * every);
    end = Math.min(end, (nb0 + Math.max(1, maxBlocks)) * ipbNew);
    long nb1 = (end + ipbNew - 1) / ipbNew;
    // One question per batch, not per block: the journal answers a range by looking at its few images.
    if (v.journal().images(tgt.newTableStart() + nb0, (int) (nb1 - nb0), false) != null) {
      // A foreground write left a WAL image of a block this batch rewrites; apply it in place first so that a
      // later checkpoint cannot put the older image back over the fresh copy.
      v.journal().checkpoint();
    }
    long firstInode = nb0 * ipbNew;
    long lastInode = Math.min(nb1 * ipbNew, sb.inodeCount());
    long ob0 = firstInode / ipbOld;
    long ob1 = (lastInode + ipbOld - 1) / ipbOld;
    long readable = Math.min(ob1, sb.inodeTableInitBlocks());
    if (old.length < (ob1 - ob0) * bs) {
      old = new byte[(int) (ob1 - ob0) * bs];
    }
    if (fresh.length < (nb1 - nb0) * bs) {
      fresh = new byte[(int) (nb1 - nb0) * bs];
    }
    long oldStart = v.regions().find(RegionDirectory.TAG_INODES).start();
    if (readable > ob0) {
      byte[][] journaled = v.journal().images(oldStart + ob0, (int) (readable - ob0), false);
      v.device().read((oldStart + ob0) * bs, ByteBuffer.wrap(old, 0, (int) (readable - ob0) * bs));
      for (long k = ob0; k < readable; k++) {
        int off = (int) (k - ob0) * bs;
        byte[] image = journaled == null ? null : journaled[(int) (k - ob0)];
        if (image != null) {
          System.arraycopy(image, 0, old, off, bs);
        } else {
          BlockCodec.verifyAt(old, off, bs, oldStart + k, BlockType.INODE_TABLE, v.resource());
        }
      }
    }
    InodeConverter converter = tgt.converter();
    int oldSize = sb.inodeSize();
    int newSize = converter.to().inodeSize();
    // Converted: the batch's inodes below the table's end that lie in initialized old blocks.
    long converted = Math.min(lastInode, readable * ipbOld);
    for (long i = firstInode; i < converted; i++) {
      converter.convert(old, (int) ((i / ipbOld - ob0) * bs + (i % ipbOld) * oldSize), fresh,
          (int) ((i / ipbNew - nb0) * bs + (i % ipbNew) * newSize));
    }
    for (long k = nb0; k < nb1; k++) {
      int off = (int) (k - nb0) * bs;
      // A converted record has every byte written; zero the rest (slots past the converted inodes, the tail),
      // instead of the whole buffer first, which cost more than the conversion.
      long records = Math.max(0, Math.min(ipbNew, converted - k * ipbNew));
      Arrays.fill(fresh, off + (int) records * newSize, off + bs - BlockCodec.TRAILER_SIZE, (byte) 0);
      BlockCodec.sealAt(fresh, off, bs, BlockType.INODE_TABLE, (int) k);
    }
    v.device().write((tgt.newTableStart() + nb0) * bs, ByteBuffer.wrap(fresh, 0, (int) (nb1 - nb0) * bs));
    tgt.advance(end);
    return new long[] {end, total, (readable - ob0) + (nb1 - nb0)};
  }
}
