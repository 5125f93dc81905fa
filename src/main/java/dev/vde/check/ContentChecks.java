package dev.vde.check;

import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.inode.Extent;
import dev.vde.wal.Journal;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The content phase: the trailer of every block an in-use inode maps. File data blocks are read straight from the
 * device (data never goes through the journal) in runs of up to {@link #IO_BLOCKS} blocks per call and must be
 * DATA blocks owned by the inode, with zero bytes past the end of the file in its last block; directory blocks
 * are read through the journal and must be DIRE blocks owned by the directory. The inodes are decoded again
 * (their extent lists are not kept), and each claim is offered to the {@link Claimants} naming the owners of
 * conflicting blocks.
 */
final class ContentChecks {
  static final String PHASE = "data";
  /** Blocks read per device call; 256 blocks of 4 KiB = 1 MiB, as the engine reads. */
  static final int IO_BLOCKS = 256;

  private final CheckContext cx;
  private final InodeTable table;
  private final InodeFacts facts;
  private final Claimants owners;
  private final InodeReader reader;
  private final byte[] buf;
  private long done;

  /** {@code owners} is null when no block needs its owners named. */
  ContentChecks(CheckContext cx, InodeTable table, InodeFacts facts, Claimants owners) {
    this.cx = cx;
    this.table = table;
    this.facts = facts;
    this.owners = owners;
    this.reader = new InodeReader(cx);
    this.buf = new byte[(int) Math.max(1, Math.min(IO_BLOCKS, facts.longestExtent)) * cx.blockSize];
  }

  void run() throws IOException {
    cx.progress(PHASE, 0, facts.contentBlocks, "blocks");
    for (long idx = 0; idx < table.initBlocks(); idx++) {
      long blockNo = table.start() + idx;
      byte[] b = cx.rereadMetadata(blockNo, BlockType.INODE_TABLE);
      if (b == null) {
        continue;
      }
      for (int s = 0; s < table.perBlock(); s++) {
        long n = idx * table.perBlock() + s;
        int kind = facts.kind(n);
        if (kind == InodeFacts.FILE || kind == InodeFacts.DIRECTORY) {
          checkInode(b, s * table.inodeSize(), n, blockNo, kind);
        }
      }
    }
  }

  private void checkInode(byte[] b, int off, long n, long blockNo, int kind) throws IOException {
    InodeReader.Decoded d = reader.decode(b, off, n, blockNo, Problems.discarding());
    if (owners != null) {
      offerClaims(n, d);
    }
    if (kind == InodeFacts.FILE) {
      checkFileData(n, d.inode().size(), d.extents());
      cx.filesChecked++;
    } else {
      checkDirectoryBlocks(n, d.extents());
    }
  }

  private void offerClaims(long n, InodeReader.Decoded d) {
    List<InodeReader.Located> xs = d.extents();
    for (int i = 0; i < xs.size(); i++) {
      Extent e = xs.get(i).extent();
      if (cx.inVolume(e.start(), e.count())) {
        int index = i;
        owners.offer(e.start(), e.count(), () -> "inode " + n + " extent " + index);
      }
    }
    for (int k = 0; k < d.chainBlocks().size(); k++) {
      int index = k;
      owners.offer(d.chainBlocks().get(k), 1, () -> "the extent chain of inode " + n + " (chain block " + index
          + ")");
    }
  }

  /** Every mapped data block, read in runs; each must be a sound DATA block of this inode. */
  private void checkFileData(long n, long size, List<InodeReader.Located> xs) throws IOException {
    long lastLogical = size <= 0 ? -1 : (size - 1) / cx.payload;
    int tail = (int) (Math.max(0, size) % cx.payload);
    int bs = cx.blockSize;
    for (InodeReader.Located l : xs) {
      Extent e = l.extent();
      if (!cx.inVolume(e.start(), e.count())) {
        continue;
      }
      for (long at = 0; at < e.count(); ) {
        int k = (int) Math.min(buf.length / bs, e.count() - at);
        byte[][] journaled = cx.vol.journal().dataImages(e.start() + at, k);
        cx.vol.device().read((e.start() + at) * bs, ByteBuffer.wrap(buf, 0, k * bs));
        Journal.overlay(journaled, buf, 0, bs);
        for (int i = 0; i < k; i++) {
          checkDataBlock(n, e.start() + at + i, e.logical() + at + i, i * bs, lastLogical, tail);
        }
        at += k;
        done += k;
        cx.blocksChecked += k;
        cx.progress(PHASE, done, facts.contentBlocks, "blocks");
      }
    }
  }

  private void checkDataBlock(long n, long blockNo, long logical, int off, long lastLogical, int tail) {
    try {
      int gen = BlockCodec.verifyAt(buf, off, cx.blockSize, blockNo, BlockType.DATA, cx.resource);
      if (gen != (int) n) {
        cx.problems.add(blockNo, BlockType.DATA.structure(), "data block belongs to inode "
            + Integer.toUnsignedLong(gen) + " (trailer generation), but inode " + n + " maps it as logical block "
            + logical);
      } else if (logical == lastLogical && tail != 0 && !Bytes.isZero(buf, off + tail, cx.payload - tail)) {
        cx.problems.add(blockNo, BlockType.DATA.structure(), "bytes " + tail + ".." + (cx.payload - 1) + " of the "
            + "last block of inode " + n + " lie past the end of the file but are not zero");
      }
    } catch (VdeCorruptedException e) {
      cx.problems.add(e, "inode " + n + " logical block " + logical);
    }
  }

  /** Every block of a directory must be a sound DIRE block of that directory. */
  private void checkDirectoryBlocks(long n, List<InodeReader.Located> xs) throws IOException {
    for (InodeReader.Located l : xs) {
      Extent e = l.extent();
      if (!cx.inVolume(e.start(), e.count())) {
        continue;
      }
      for (long i = 0; i < e.count(); i++) {
        long blockNo = e.start() + i;
        byte[] b = cx.readMetadata(blockNo, BlockType.DIRECTORY, "directory inode " + n + " block "
            + (e.logical() + i));
        if (b != null) {
          cx.checkGeneration(b, blockNo, BlockType.DIRECTORY, n, "the directory inode that maps it");
        }
      }
      done += e.count();
      cx.progress(PHASE, done, facts.contentBlocks, "blocks");
    }
  }
}
