package dev.vde.module.copy;

import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Reads the source's inode table in runs of blocks rather than one block per call: a table of a million inodes is
 * about 80,000 blocks, and one read each cost more than everything else a scan of it does. Each block is what
 * {@link SourceView#readCurrent} gives (in place, overlaid with the journal's newer images) and is checked when it
 * is first asked for, so a damaged block fails only the caller that needs it, naming it.
 */
final class TableReader {
  private final SourceView src;
  private final long tableStart;
  private final long blocks;
  private final int bs;
  private final byte[] buf;
  private final boolean[] checked;
  private long first = -1;
  private int count;

  /** Reads table blocks {@code [0, blocks)} from {@code tableStart}, up to {@code batchBlocks} per read. */
  TableReader(SourceView src, long tableStart, long blocks, int batchBlocks) {
    this.src = src;
    this.tableStart = tableStart;
    this.blocks = blocks;
    this.bs = src.blockSize;
    int batch = (int) Math.max(1, Math.min(batchBlocks, blocks));
    this.buf = new byte[batch * bs];
    this.checked = new boolean[batch];
  }

  /** The buffer {@link #locate} returns offsets into; its content changes with the next call of it. */
  byte[] array() {
    return buf;
  }

  /** Offset in {@link #array} of table block {@code i}, checked (trailer, type). */
  int locate(long i) throws IOException {
    if (i < 0 || i >= blocks) {
      throw new IndexOutOfBoundsException("table block " + i + " of " + blocks);
    }
    if (first < 0 || i < first || i >= first + count) {
      first = i;
      count = (int) Math.min(checked.length, blocks - i);
      java.util.Arrays.fill(checked, false);
      try {
        src.readCurrent(tableStart + first, count, ByteBuffer.wrap(buf), false);
      } catch (IOException | RuntimeException e) {
        first = -1;
        throw e;
      }
    }
    int k = (int) (i - first);
    if (!checked[k]) {
      BlockCodec.verifyAt(buf, k * bs, bs, tableStart + i, BlockType.INODE_TABLE, src.resource);
      checked[k] = true;
    }
    return k * bs;
  }
}
