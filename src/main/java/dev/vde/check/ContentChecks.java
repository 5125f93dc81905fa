package dev.vde.check;

import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.inode.Extent;
import dev.vde.io.BlockScratch;
import dev.vde.io.ReadAhead;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Future;

/**
 * The content phase: the trailer of every block an in-use inode maps. File data blocks are read straight from the
 * device (data never goes through the journal) in runs of up to {@link #IO_BLOCKS} blocks per call and must be
 * DATA blocks owned by the inode, with zero bytes past the end of the file in its last block; directory blocks
 * are read through the journal and must be DIRE blocks owned by the directory. The inodes are decoded again
 * (their extent lists are not kept), and each claim is offered to the {@link Claimants} naming the owners of
 * conflicting blocks.
 *
 * <p>Data runs are read and checked on other threads, up to {@link #RUNS_IN_FLIGHT} at a time, because checking a
 * block's XXH3 costs about as much CPU as reading it from the host's page cache: one thread left the check of a
 * cached volume at about half the speed of a plain read. Each run reports into its own {@link Problems}, which
 * this thread appends in the order the runs were submitted, and every run in flight is drained before a
 * directory is checked here: the findings come out in the same order as from a check on one thread. Nothing is
 * written; the caller holds the state lock, and {@link #run} returns only when no run is still reading.
 */
final class ContentChecks {
  static final String PHASE = "data";
  /** Blocks read per device call; 256 blocks of 4 KiB = 1 MiB, as the engine reads. */
  static final int IO_BLOCKS = 256;
  /**
   * Data runs being read and checked at once: four per core, at most eight (1 MiB each). On 2 cores, 8 checked a
   * cached 4 GiB volume in 0.51 s against 0.54 s with 4; smaller runs were slower (more handoffs per byte).
   */
  static final int RUNS_IN_FLIGHT = Math.max(2, Math.min(8, 4 * Runtime.getRuntime().availableProcessors()));

  private final CheckContext cx;
  private final InodeTable table;
  private final InodeFacts facts;
  private final Claimants owners;
  private final InodeReader reader;
  private final int runBytes;
  /** Runs not yet handed out: short runs (small files) go out together, up to {@link #IO_BLOCKS} blocks. */
  private final List<DataRun> batch = new ArrayList<>();
  private int batchBlocks;
  /** Batches handed out and not yet collected, oldest first. */
  private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
  /** Buffers of collected runs, ready for the next ones. */
  private final ArrayDeque<ByteBuffer> spare = new ArrayDeque<>();
  private long done;

  /** A batch of data runs handed to a worker: its findings, when they are ready, and the buffer it reads into. */
  private record InFlight(Future<Problems> findings, ByteBuffer buf, int blocks) {}

  /** One read of {@code count} data blocks of inode {@code n}, from {@code start} (logical {@code logical}). */
  private record DataRun(long n, long start, long logical, int count, byte[][] journaled, long lastLogical,
      int tail) {}

  /** {@code owners} is null when no block needs its owners named. */
  ContentChecks(CheckContext cx, InodeTable table, InodeFacts facts, Claimants owners) {
    this.cx = cx;
    this.table = table;
    this.facts = facts;
    this.owners = owners;
    this.reader = new InodeReader(cx);
    this.runBytes = (int) Math.max(1, Math.min(IO_BLOCKS, facts.contentBlocks)) * cx.blockSize;
  }

  void run() throws IOException {
    try {
      checkAll();
      flush();
      drain(0);
    } finally {
      abandon();
    }
  }

  private void checkAll() throws IOException {
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
      // Directory findings are added here, directly: the file runs before them first, to keep the order.
      flush();
      drain(0);
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
    int perRun = runBytes / cx.blockSize;
    FirstVisits seen = new FirstVisits();
    for (InodeReader.Located l : xs) {
      Extent e = l.extent();
      if (!cx.inVolume(e.start(), e.count())) {
        continue;
      }
      // A block this inode maps twice was reported by the inode phase; it is read once. (Not "done += visit(..)":
      // the runs handed out inside it add to done themselves.)
      long skipped = seen.visit(e.start(), e.count(), (start, count, offset) -> {
        for (long at = 0; at < count; ) {
          int k = (int) Math.min(perRun, count - at);
          // The journal is asked here, on the thread that holds the state lock, not by the worker.
          byte[][] journaled = cx.vol.journal().dataImages(start + at, k);
          submit(new DataRun(n, start + at, e.logical() + offset + at, k, journaled, lastLogical, tail));
          at += k;
        }
      });
      done += skipped;
    }
  }

  /** Adds a run to the batch, handing the batch out first when the run would not fit in its buffer. */
  private void submit(DataRun run) throws IOException {
    if (batchBlocks + run.count() > runBytes / cx.blockSize) {
      flush();
    }
    batch.add(run);
    batchBlocks += run.count();
  }

  /**
   * Hands the batch to a worker once fewer than {@link #RUNS_IN_FLIGHT} are out, reusing a collected batch's
   * buffer. One batch per handoff rather than one run: a volume of small files would otherwise pay a handoff per
   * block (measured: three times slower than checking on one thread).
   */
  private void flush() throws IOException {
    if (batch.isEmpty()) {
      return;
    }
    drain(RUNS_IN_FLIGHT - 1);
    ByteBuffer buf = spare.isEmpty() ? ByteBuffer.allocateDirect(runBytes) : spare.poll();
    List<DataRun> runs = List.copyOf(batch);
    inFlight.add(new InFlight(ReadAhead.submit(() -> checkRuns(runs, buf)), buf, batchBlocks));
    batch.clear();
    batchBlocks = 0;
  }

  /** Collects the oldest runs, in order, until at most {@code keep} are still out. */
  private void drain(int keep) throws IOException {
    while (inFlight.size() > keep) {
      InFlight f = inFlight.peek();
      Problems found = ReadAhead.join(f.findings());
      inFlight.poll();
      spare.add(f.buf());
      cx.problems.addAll(found);
      done += f.blocks();
      cx.blocksChecked += f.blocks();
      cx.progress(PHASE, done, facts.contentBlocks, "blocks");
    }
  }

  /**
   * After a failure: runs not started are cancelled, running ones waited for, so that no worker reads the volume
   * after the caller lets go of its lock.
   */
  private void abandon() {
    for (InFlight f : inFlight) {
      f.findings().cancel(false);
    }
    for (InFlight f : inFlight) {
      ReadAhead.awaitQuietly(f.findings());
    }
    inFlight.clear();
  }

  /**
   * On a worker: reads each run of a batch into a direct buffer and checks each block from a heap copy of that
   * block alone, which stays in the core's cache while it is hashed (copying a whole run to the heap first, as a
   * read into a heap buffer does, cost another pass over memory). What it finds is reported through the result.
   */
  private Problems checkRuns(List<DataRun> runs, ByteBuffer buf) throws IOException {
    int bs = cx.blockSize;
    byte[] block = BlockScratch.of(bs);
    Problems found = new Problems();
    for (DataRun run : runs) {
      buf.clear().limit(run.count() * bs);
      cx.vol.device().read(run.start() * bs, buf);
      for (int i = 0; i < run.count(); i++) {
        byte[] image = run.journaled() == null ? null : run.journaled()[i];
        if (image != null) {
          System.arraycopy(image, 0, block, 0, bs);
        } else {
          buf.get(i * bs, block);
        }
        checkDataBlock(found, block, run.n(), run.start() + i, run.logical() + i, run.lastLogical(), run.tail());
      }
    }
    return found;
  }

  private void checkDataBlock(Problems found, byte[] block, long n, long blockNo, long logical, long lastLogical,
      int tail) {
    try {
      int gen = BlockCodec.verifyAt(block, 0, cx.blockSize, blockNo, BlockType.DATA, cx.resource);
      if (gen != (int) n) {
        found.add(blockNo, BlockType.DATA.structure(), "data block belongs to inode "
            + Integer.toUnsignedLong(gen) + " (trailer generation), but inode " + n + " maps it as logical block "
            + logical);
      } else if (logical == lastLogical && tail != 0 && !Bytes.isZero(block, tail, cx.payload - tail)) {
        found.add(blockNo, BlockType.DATA.structure(), "bytes " + tail + ".." + (cx.payload - 1) + " of the "
            + "last block of inode " + n + " lie past the end of the file but are not zero");
      }
    } catch (VdeCorruptedException e) {
      found.add(e, "inode " + n + " logical block " + logical);
    }
  }

  /** Every block of a directory must be a sound DIRE block of that directory. */
  private void checkDirectoryBlocks(long n, List<InodeReader.Located> xs) throws IOException {
    FirstVisits seen = new FirstVisits();
    for (InodeReader.Located l : xs) {
      Extent e = l.extent();
      if (!cx.inVolume(e.start(), e.count())) {
        continue;
      }
      seen.visit(e.start(), e.count(), (start, count, offset) -> {
        for (long i = 0; i < count; i++) {
          long blockNo = start + i;
          byte[] b = cx.readMetadata(blockNo, BlockType.DIRECTORY, "directory inode " + n + " block "
              + (e.logical() + offset + i));
          if (b != null) {
            cx.checkGeneration(b, blockNo, BlockType.DIRECTORY, n, "the directory inode that maps it");
          }
        }
      });
      done += e.count();
      cx.progress(PHASE, done, facts.contentBlocks, "blocks");
    }
  }
}
