package dev.vde.wal;

import dev.vde.VdeCorruptedException;
import dev.vde.VdeException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.Salt;
import dev.vde.format.Superblock;
import dev.vde.io.BlockDevice;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The metadata journal: every change to a metadata block (superblock, region directory, bitmap, inode table,
 * directory and indirect extent blocks) reaches the disk through it.
 *
 * <h2>Commit order</h2>
 * (1) The transaction's new file data blocks are written (and, for large transactions, synced) by the engine,
 *     except those of small transactions, which come as images with the metadata (journaled data).
 * (2) {@link #commit} publishes the full images of the changed blocks in memory and queues them.
 * (3) A committing thread becomes the group leader, writes the queued transactions as one WAL transaction
 *     (descriptors, images, commit record) at the WAL head, and (4) syncs. Everyone in the group is now
 *     durable. Small transactions list their data blocks' checksums in the descriptor instead of syncing in
 *     step 1; recovery refuses a transaction whose data blocks do not match.
 * (5) At a checkpoint (WAL full, allocation pressure, close), the durable images are written in place and
 *     synced; (6) the superblock is written to the next slot with the new checkpoint transaction id and a new
 *     WAL salt, and synced, then (6b) to the other slot with the next sequence and the same salt, and synced;
 *     (7) the WAL restarts at its first block and blocks freed before the checkpoint become reusable
 *     (AllocationBitmap (2)).
 *
 * <h2>Crash at each step</h2>
 * Before (4): the commit record may or may not be on disk; if it is, every block it covers is too (checksums
 * of images, chain hash, data checks), else recovery stops before it; no acknowledged transaction is affected,
 * since acknowledgement waits for (4). During (5): in-place blocks are a mix of old and new, but the WAL still
 * holds every image and the superblock still names the old salt, so recovery replays them all (images are
 * whole blocks, so replay is idempotent). During (6): the old superblock slot is intact; a torn new one fails
 * its checksum and the old one (with the old salt, whose WAL is untouched until after the sync) is used. After
 * (6): the new salt makes every old WAL block invalid, so nothing stale is ever replayed. During (6b): the
 * first copy is the newest and names the new, still empty, epoch. After (6b) both copies name the epoch, so
 * losing either one later loses no transaction written in it.
 *
 * <p>Thread-safety: {@link #commit} is called by one writer at a time (the engine's publish lock);
 * {@link #awaitDurable} by any number of threads; reads from any thread.
 */
public final class Journal implements AutoCloseable {
  /**
   * Judges a superblock before the volume is used: throws to refuse the open, else returns why the volume must be
   * opened read-only (null: writable). {@link #open} asks it about the superblock recovery leaves, before
   * anything is written.
   */
  @FunctionalInterface
  public interface Admission {
    String readOnlyReason(Superblock sb) throws IOException;
  }

  /** Told when a checkpoint completed: every ticket up to and including {@code durableTicket} is in place. */
  @FunctionalInterface
  public interface CheckpointListener {
    void checkpointed(long durableTicket);
  }

  /**
   * What recovery found at open. {@code walDamage} is non-null when replay stopped at a damaged transaction that
   * later transactions were committed after (see {@link #laterCommitted}); the journal is then read-only.
   */
  public record Recovery(int transactionsReplayed, int imagesReplayed, String otherSlotProblem, String walDamage) {}

  /**
   * Queued transactions not yet in the WAL. Consecutive transactions are merged into one entry (newest image of
   * each block wins) while the entry stays under half the WAL, so a long batch holds one image per block
   * instead of one per transaction, and entries still split only between whole transactions.
   */
  private static final class Pending {
    long ticket;
    /** Transactions merged into this entry. */
    int txns;
    /** Part of a batch still running: the leader leaves it (and all after it) queued until release(). */
    boolean held;
    final LinkedHashMap<Long, byte[]> images = new LinkedHashMap<>();
    final List<DataCheck> checks = new ArrayList<>();
    /** Runs of one generation in {@link #checks}, counted per merged transaction (an upper bound). */
    long checkRuns;
  }

  private final BlockDevice dev;
  private final int blockSize;
  private final String resource;
  private final boolean readOnly;
  private final long walStart;
  private final long walBlocks;
  /**
   * How much of the WAL is used before a checkpoint: all of it, or less when the images written since the last
   * checkpoint, which stay in memory until it (every durable image, journaled data included), would outgrow an
   * eighth of the heap. A large WAL in a small heap would otherwise end in OutOfMemoryError. A transaction larger
   * than this still goes to the WAL whole, alone after a checkpoint.
   */
  private final long memoryBoundBlocks;

  // Guarded by walLock.
  private final ReentrantLock walLock = new ReentrantLock();
  private long walPos;
  private long nextTxId;
  private long salt;
  private Superblock onDiskSb;
  private final HashMap<Long, byte[]> durable = new HashMap<>();
  private long walDurableTicket;

  /** Newest committed image of each block changed since its last checkpoint; readers look here first. */
  private final ConcurrentHashMap<Long, byte[]> published = new ConcurrentHashMap<>();
  /**
   * How many of the published images are file data blocks (journaled data of small transactions). Data readers
   * read the device directly and overlay published data images only while this is not zero, so the common read
   * path costs one volatile read.
   */
  private final AtomicLong publishedData = new AtomicLong();

  // Guarded by monitor.
  private final Object monitor = new Object();
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  private long lastTicket;
  /** The newest ticket no running batch holds back (see {@link #lastUnheldTicket}). */
  private long unheldTicket;
  private long durableTicket;
  private boolean leaderActive;
  private IOException failure;

  private volatile CheckpointListener listener = t -> {};
  /** True while another transaction is being built and will commit soon; the leader waits briefly for it. */
  private volatile java.util.function.BooleanSupplier moreComing = () -> false;
  /**
   * Longest a leader waits for its group to fill: half the recent sync time (waiting w to save another
   * transaction a whole sync of s pays while w is below s), but at least this and at most
   * {@link #MAX_GROUP_WAIT_NANOS}.
   */
  private static final long GROUP_WAIT_NANOS = 200_000;
  private static final long MAX_GROUP_WAIT_NANOS = 2_000_000;
  /** Moving average of the WAL sync time (weight 1/8 per sync). Written under walLock, read racily. */
  private volatile long syncNanos;
  /** A thread that committed this recently (or within four syncs) counts as an active committer. */
  private static final long RECENT_NANOS = 2_000_000;
  /** Thread id to the time of its last unheld commit. Guarded by monitor. */
  private final HashMap<Long, Long> recentCommitters = new HashMap<>();
  /** The leader lingering for its group; each commit wakes it. */
  private volatile Thread waitingLeader;
  private volatile GroupListener groupListener;
  private final Recovery recovery;
  private long groupsWritten;
  /** Incremented only by the current leader (one at a time); volatile so any thread can read it. */
  private volatile long groupWaits;
  /** False only while open() runs recovery, whose checkpoint must happen even without replayed images. */
  private boolean recoveryDone = true;
  private long checkpoints;

  private Journal(BlockDevice dev, Superblock sb, boolean readOnly, Recovery recovery) {
    this.dev = dev;
    this.blockSize = sb.blockSize();
    this.resource = dev.describe();
    this.readOnly = readOnly;
    this.walStart = sb.walStart();
    this.walBlocks = sb.walBlocks();
    this.memoryBoundBlocks = Math.min(walBlocks,
        Math.max(Superblock.MIN_WAL_BLOCKS, Runtime.getRuntime().maxMemory() / 8 / blockSize));
    this.onDiskSb = sb;
    this.salt = sb.walSalt();
    this.nextTxId = sb.checkpointTxId() + 1;
    this.recovery = recovery;
  }

  /** A journal for a volume just formatted (its superblock durable, its WAL empty). */
  public static Journal forNewVolume(BlockDevice dev, Superblock sb) {
    return new Journal(dev, sb, false, new Recovery(0, 0, null, null));
  }

  /**
   * Opens the journal of an existing volume and runs recovery: committed WAL transactions since the last
   * checkpoint are replayed, anything after the first incomplete one is discarded. {@code admission} then judges
   * the superblock as recovered (a replayed image may carry feature bits the copies in place lack) and may refuse
   * the open or make it read-only. Writable opens then checkpoint (applying the replay and repairing a damaged
   * superblock copy); read-only opens keep the replayed images in memory only.
   */
  public static Journal open(BlockDevice dev, SuperblockSlots.Loaded loaded, Admission admission)
      throws IOException {
    Superblock sb = loaded.superblock();
    int bs = sb.blockSize();
    LinkedHashMap<Long, byte[]> replay = new LinkedHashMap<>();
    long txId = sb.checkpointTxId() + 1;
    long pos = 0;
    int txs = 0;
    while (true) {
      long used = scanTransaction(dev, sb, pos, txId, replay);
      if (used <= 0) {
        break;
      }
      pos += used;
      txId++;
      txs++;
    }
    Superblock recovered = sb;
    byte[] sbImage = replay.get(0L);
    if (sbImage != null) {
      Superblock img = Superblock.read(sbImage, 0, dev.describe());
      recovered = img.withCheckpoint(sb.sequence(), sb.checkpointTxId(), sb.walSalt());
    }
    boolean readOnly = admission.readOnlyReason(recovered) != null;
    boolean leftover = mayHoldThisEpoch(dev, sb, pos);
    long later = leftover ? laterCommitted(dev, sb, pos, txId) : -1;
    String damage = later < 0 ? null : "WAL transaction " + txId + " (from block " + (sb.walStart() + pos)
        + ") is damaged, and transaction " + later + " was committed after it: the acknowledged transactions from "
        + txId + " on cannot be replayed";
    // A checkpoint would start a new WAL epoch and discard the transactions after the damage for good, so a
    // journal that found some stays read-only: what is there can still be read and copied out.
    boolean ro = readOnly || damage != null;
    Journal j = new Journal(dev, recovered, ro, new Recovery(txs, replay.size(), loaded.otherSlotProblem(), damage));
    j.walPos = pos;
    j.nextTxId = txId;
    if (ro) {
      for (Map.Entry<Long, byte[]> e : replay.entrySet()) {
        j.publish(e.getKey(), e.getValue());
      }
      return j;
    }
    j.walLock.lock();
    try {
      j.recoveryDone = false;
      j.durable.putAll(replay);
      if (!replay.isEmpty() || loaded.otherSlotProblem() != null || leftover) {
        // Replayed images go in place now, and the checkpoint rewrites both slots, the damaged or stale one
        // included. It also gives the WAL a new salt, which retires for good whatever of this epoch was left
        // where replay stopped: a transaction that failed a data check would become valid again if its data
        // blocks, free once more, came to hold those bytes (the same file written again), and be replayed by a
        // later recovery although it was never acknowledged.
        j.checkpointLocked();
      }
    } finally {
      j.recoveryDone = true;
      j.walLock.unlock();
    }
    return j;
  }

  /**
   * Whether replay may write an image to block {@code ref}. Never slot 1 (the superblock image is ref 0 and goes
   * to both slots at a checkpoint) nor a block of the WAL itself: the checkpoint that applies a replay writes in
   * block order, so an image aimed at the WAL would overwrite the very transaction it belongs to before its
   * other images were in place, and a crash then would lose a committed transaction that recovery must be able
   * to apply again. No engine writes such a ref; a transaction holding one is treated as not committed.
   */
  private static boolean replayable(Superblock sb, long ref) {
    return ref >= 0 && ref < sb.totalBlocks() && ref != 1
        && (ref < sb.walStart() || ref >= sb.walStart() + sb.walBlocks());
  }

  /**
   * Whether a replayed superblock image describes the same volume as the copy in place: no engine changes the
   * block size, the block count, the identity, the region directory's or the WAL's place after create. An image
   * that does would describe another volume: one larger than the host file (the next open refuses it as
   * truncated, or a read-only open reads millions of blocks past the end), or with its WAL elsewhere.
   */
  private static boolean sameGeometry(Superblock sb, byte[] image, String resource) {
    Superblock img;
    try {
      img = Superblock.read(image, 0, resource);
    } catch (VdeCorruptedException e) {
      return false;
    }
    return img.blockSize() == sb.blockSize() && img.totalBlocks() == sb.totalBlocks()
        && img.uuid().equals(sb.uuid()) && img.createdMillis() == sb.createdMillis()
        && img.regionDirStart() == sb.regionDirStart() && img.regionDirBlocks() == sb.regionDirBlocks()
        && img.walStart() == sb.walStart() && img.walBlocks() == sb.walBlocks();
  }

  /** A data check as read back: its descriptor's {@code checkGeneration} field (0 when not recorded). */
  private record RecordedCheck(long blockNo, long checksum, long checkGeneration) {}

  /**
   * Validates one WAL transaction at {@code pos}; when it is complete and committed, adds its images to
   * {@code into} and returns the blocks it occupies, else returns 0. Never throws on bad content: a WAL that
   * ends in garbage simply ends.
   */
  private static long scanTransaction(BlockDevice dev, Superblock sb, long pos, long txId,
      Map<Long, byte[]> into) throws IOException {
    int bs = sb.blockSize();
    int per = WalCodec.entriesPerDescriptor(bs);
    long p = pos;
    List<Long> chain = new ArrayList<>();
    LinkedHashMap<Long, byte[]> images = new LinkedHashMap<>();
    List<RecordedCheck> checks = new ArrayList<>();
    ByteArrayOutputStream trailers = new ByteArrayOutputStream();
    int descriptors = 0;
    long totalEntries = 0;
    while (true) {
      if (p >= sb.walBlocks()) {
        return 0;
      }
      byte[] d = readBlock(dev, sb.walStart() + p, bs);
      if (!validBlock(d, BlockType.WAL_DESCRIPTOR) || Bytes.i64(d, 0) != txId || Bytes.i64(d, 8) != sb.walSalt()) {
        return 0;
      }
      long n = Bytes.u32(d, 16);
      if (n > per) {
        return 0;
      }
      chain.add(BlockCodec.storedChecksum(d));
      descriptors++;
      p++;
      long checkGeneration = Bytes.i64(d, WalCodec.CHECK_GENERATION_OFFSET);
      int e = WalCodec.DESCRIPTOR_HEADER;
      for (int i = 0; i < n; i++, e += WalCodec.ENTRY_SIZE) {
        long ref = Bytes.i64(d, e);
        long sum = Bytes.i64(d, e + 8);
        if ((ref & WalCodec.DATA_CHECK_FLAG) != 0) {
          checks.add(new RecordedCheck(ref & ~WalCodec.DATA_CHECK_FLAG, sum, checkGeneration));
          continue;
        }
        if (p >= sb.walBlocks() || !replayable(sb, ref)) {
          return 0;
        }
        byte[] img = readBlock(dev, sb.walStart() + p, bs);
        if (!BlockCodec.checksumMatches(img) || BlockCodec.storedChecksum(img) != sum) {
          return 0;
        }
        if (ref == 0 && !sameGeometry(sb, img, dev.describe())) {
          return 0;
        }
        chain.add(sum);
        trailers.write(img, bs - BlockCodec.TRAILER_SIZE, 8);
        images.put(ref, img);
        p++;
      }
      totalEntries += n;
      if ((Bytes.i32(d, 20) & WalCodec.FLAG_LAST) != 0) {
        break;
      }
    }
    if (p >= sb.walBlocks()) {
      return 0;
    }
    byte[] c = readBlock(dev, sb.walStart() + p, bs);
    if (!validBlock(c, BlockType.WAL_COMMIT) || Bytes.i64(c, 0) != txId || Bytes.i64(c, 8) != sb.walSalt()
        || Bytes.u32(c, 16) != descriptors || Bytes.u32(c, 20) != totalEntries
        || Bytes.i64(c, 24) != WalCodec.chainHash(chain)) {
      return 0;
    }
    // The checksums cover payloads only. An image lost in the crash can leave at its place an older block (of an
    // earlier WAL epoch) with the same payload, a zero-filled one say, under another tag or owner; the commit's
    // hash of the images' tags and generations tells it from the image written.
    if ((Bytes.i32(c, WalCodec.COMMIT_FLAGS_OFFSET) & WalCodec.COMMIT_FLAG_IMAGE_TRAILERS) != 0) {
      byte[] t = trailers.toByteArray();
      if (Bytes.i64(c, WalCodec.IMAGE_TRAILERS_OFFSET) != BlockCodec.hash(t, 0, t.length)) {
        return 0;
      }
    }
    for (RecordedCheck dc : checks) {
      if (dc.blockNo() < 0 || dc.blockNo() >= sb.totalBlocks()) {
        return 0;
      }
      byte[] data = readBlock(dev, dc.blockNo(), bs);
      // Ordered mode without a second sync: the transaction counts only if its data arrived too. The checksum
      // covers the payload only; the recorded generation (when the writer recorded one) also tells the block
      // written from an older one with the same payload, which the write may never have replaced.
      if (!BlockCodec.checksumMatches(data) || BlockCodec.storedChecksum(data) != dc.checksum()) {
        return 0;
      }
      if ((dc.checkGeneration() & WalCodec.CHECK_GENERATION_PRESENT) != 0
          && (BlockCodec.storedTag(data) != BlockType.DATA.tag()
              || BlockCodec.storedGeneration(data) != (int) dc.checkGeneration())) {
        return 0;
      }
    }
    into.putAll(images);
    return p + 1 - pos;
  }

  /**
   * The id of a transaction of this WAL epoch committed after transaction {@code txId}, which recovery could not
   * replay at {@code pos}; -1 when there is none. The leader writes a transaction only once the one before it is
   * durable, so a later one proves that {@code txId} was complete and synced once and has been damaged since:
   * the transactions from {@code txId} on were acknowledged and are lost to replay. A WAL that merely ends (never
   * written, an older epoch's blocks, or a last transaction torn by a crash) has none. Asked only when the block
   * at {@code pos} may hold this epoch ({@link #mayHoldThisEpoch}): all zero or an older epoch's, the WAL ends.
   */
  static long laterCommitted(BlockDevice dev, Superblock sb, long pos, long txId) throws IOException {
    int bs = sb.blockSize();
    for (long p = pos + 1; p < sb.walBlocks(); p++) {
      byte[] d = readBlock(dev, sb.walStart() + p, bs);
      if (validBlock(d, BlockType.WAL_DESCRIPTOR) && Bytes.i64(d, 8) == sb.walSalt() && Bytes.i64(d, 0) > txId) {
        return Bytes.i64(d, 0);
      }
    }
    return -1;
  }

  /**
   * Whether the WAL block at {@code pos}, where replay stopped, may hold something of the current epoch: it is
   * neither all zero nor a valid block whose bytes 8–15 differ from the current salt (what an older epoch left).
   */
  static boolean mayHoldThisEpoch(BlockDevice dev, Superblock sb, long pos) throws IOException {
    int bs = sb.blockSize();
    if (pos >= sb.walBlocks()) {
      return false;
    }
    byte[] b = readBlock(dev, sb.walStart() + pos, bs);
    return !(Bytes.isZero(b, 0, bs) || BlockCodec.checksumMatches(b) && Bytes.i64(b, 8) != sb.walSalt());
  }

  private static boolean validBlock(byte[] b, BlockType t) {
    return BlockCodec.checksumMatches(b) && BlockCodec.storedTag(b) == t.tag();
  }

  private static byte[] readBlock(BlockDevice dev, long blockNo, int bs) throws IOException {
    return readAt(dev, blockNo * bs, bs);
  }

  private static byte[] readAt(BlockDevice dev, long pos, int bs) throws IOException {
    byte[] b = new byte[bs];
    dev.read(pos, ByteBuffer.wrap(b));
    return b;
  }

  public Recovery recovery() {
    return recovery;
  }

  /** Whether this journal never writes: what recovery replayed stays in memory. */
  public boolean isReadOnly() {
    return readOnly;
  }

  /** The superblock as last written in place (its sequence is the volume's sequence). */
  public Superblock onDiskSuperblock() {
    walLock.lock();
    try {
      return onDiskSb;
    } finally {
      walLock.unlock();
    }
  }

  public void setCheckpointListener(CheckpointListener l) {
    this.listener = l;
  }

  /**
   * Tells the group-commit leader whether a transaction is being built right now. If so, the leader waits a
   * little for it to be queued before writing (see {@link #lingerForGroup}).
   */
  public void setMoreComing(java.util.function.BooleanSupplier s) {
    this.moreComing = s;
  }

  /** Largest number of WAL blocks one transaction may take. */
  public long walCapacity() {
    return walBlocks;
  }

  /**
   * Reads a metadata block: the newest published image if the block changed since the last checkpoint, else
   * the block from the device, verified against {@code type}. Callers must not modify the returned array.
   */
  public byte[] read(long blockNo, BlockType type) throws IOException {
    byte[] img = published.get(blockNo);
    if (img != null) {
      return img;
    }
    byte[] b = readAt(dev, blockNo * blockSize, blockSize);
    BlockCodec.verify(b, blockNo, type, resource);
    return b;
  }

  /**
   * The published images of data blocks {@code [first, first + count)} (null where a block has none), or null
   * when there are none. Called before reading those blocks from the device: an image missing here is already
   * in place, because a checkpoint drops an image only after writing and syncing it.
   */
  public byte[][] dataImages(long first, int count) {
    return publishedData.get() == 0 ? null : images(first, count, true);
  }

  /**
   * Like {@link #dataImages} for blocks of any type: the published images of {@code [first, first + count)}, or
   * null when there are none. Called before reading those blocks from the device, for the same reason.
   */
  public byte[][] images(long first, int count, boolean dataOnly) {
    byte[][] out = null;
    if (published.size() < count) {
      // Fewer images than blocks asked for (a large read): look at each image instead of each block.
      for (Map.Entry<Long, byte[]> e : published.entrySet()) {
        long k = e.getKey() - first;
        if (k >= 0 && k < count && (!dataOnly || isData(e.getValue()))) {
          if (out == null) {
            out = new byte[count][];
          }
          out[(int) k] = e.getValue();
        }
      }
      return out;
    }
    for (int k = 0; k < count; k++) {
      byte[] img = published.get(first + k);
      if (img != null && (!dataOnly || isData(img))) {
        if (out == null) {
          out = new byte[count][];
        }
        out[k] = img;
      }
    }
    return out;
  }

  /** Copies {@code images} (from {@link #dataImages}; may be null) over blocks read into {@code buf} at {@code off}. */
  public static void overlay(byte[][] images, byte[] buf, int off, int blockSize) {
    if (images != null) {
      for (int k = 0; k < images.length; k++) {
        if (images[k] != null) {
          System.arraycopy(images[k], 0, buf, off + k * blockSize, blockSize);
        }
      }
    }
  }

  /** Data blocks whose newest content is in the WAL (journaled by small transactions) and not yet in place. */
  public long publishedDataBlocks() {
    return publishedData.get();
  }

  private void publish(long blockNo, byte[] img) {
    byte[] old = published.put(blockNo, img);
    long d = (isData(img) ? 1 : 0) - (old != null && isData(old) ? 1 : 0);
    if (d != 0) {
      publishedData.addAndGet(d);
    }
  }

  private static boolean isData(byte[] img) {
    return BlockCodec.storedTag(img) == BlockType.DATA.tag();
  }

  /** Writes images in place, adjacent blocks in one call (journaled data of small files is often contiguous). */
  private void writeInPlace(TreeMap<Long, byte[]> images) throws IOException {
    final int maxRun = Math.max(1, (1 << 20) / blockSize);
    byte[] run = null;
    long runStart = -1;
    int n = 0;
    for (Map.Entry<Long, byte[]> e : images.entrySet()) {
      if (n > 0 && (e.getKey() != runStart + n || n == maxRun)) {
        dev.write(runStart * blockSize, ByteBuffer.wrap(run, 0, n * blockSize));
        n = 0;
      }
      if (n == 0) {
        runStart = e.getKey();
        if (run == null) {
          run = new byte[maxRun * blockSize];
        }
      }
      System.arraycopy(e.getValue(), 0, run, n * blockSize, blockSize);
      n++;
    }
    if (n > 0) {
      dev.write(runStart * blockSize, ByteBuffer.wrap(run, 0, n * blockSize));
    }
  }

  /** Like {@link #read} but without verification, for the verifier and diagnostics. */
  public byte[] readRaw(long blockNo) throws IOException {
    byte[] img = published.get(blockNo);
    return img != null ? img : readAt(dev, blockNo * blockSize, blockSize);
  }

  /**
   * Publishes a transaction's images (visible to readers at once) and queues it for the WAL. Returns the
   * ticket to pass to {@link #awaitDurable}. The caller holds the engine's publish lock.
   */
  public long commit(List<BlockImage> images, List<DataCheck> checks) throws IOException {
    return commit(images, checks, false);
  }

  /**
   * Like {@link #commit(List, List)}; with {@code held}, the transaction belongs to a batch and is merged with the
   * batch's other transactions into one queued entry that no leader writes before {@link #release()}, so the
   * whole batch goes to the WAL as one transaction when it fits in the WAL.
   */
  public long commit(List<BlockImage> images, List<DataCheck> checks, boolean held) throws IOException {
    if (readOnly) {
      throw new IllegalStateException("commit on a read-only journal");
    }
    long t;
    synchronized (monitor) {
      if (failure != null) {
        throw failed();
      }
      for (BlockImage im : images) {
        publish(im.blockNo(), im.data());
      }
      t = ++lastTicket;
      if (!held) {
        unheldTicket = t;
      }
      Pending tail = queue.peekLast();
      // Unheld entries stay under half the WAL so that groups form; a held batch may use all of it.
      long limit = held ? walBlocks : memoryBoundBlocks / 2;
      int runs = WalCodec.checkRuns(checks);
      // The merged entry's real size: a block both change (the superblock, a bitmap or directory block) is
      // written once. Adding the two sizes split batches that fit the WAL into two WAL transactions, and a crash
      // between them kept half of the batch.
      int merged = tail == null ? images.size() : tail.images.size();
      if (tail != null) {
        for (BlockImage im : images) {
          if (!tail.images.containsKey(im.blockNo())) {
            merged++;
          }
        }
      }
      if (tail == null || tail.held != held || WalCodec.blocksNeeded(blockSize, merged,
          tail.checks.size() + checks.size(), tail.checkRuns + runs) > limit) {
        tail = new Pending();
        tail.held = held;
        queue.add(tail);
      }
      for (BlockImage im : images) {
        tail.images.remove(im.blockNo());
        tail.images.put(im.blockNo(), im.data());
      }
      tail.checks.addAll(checks);
      tail.checkRuns += runs;
      tail.ticket = t;
      tail.txns++;
      if (!held) {
        long now = System.nanoTime();
        recentCommitters.put(Thread.currentThread().getId(), now);
        if (recentCommitters.size() > 64) {
          long recent = recentWindowNanos();
          recentCommitters.values().removeIf(at -> now - at > recent);
        }
      }
    }
    Thread leader = waitingLeader;
    if (leader != null) {
      LockSupport.unpark(leader);
    }
    return t;
  }

  /** How long ago a thread may have committed and still count as an active committer. */
  private long recentWindowNanos() {
    return Math.max(RECENT_NANOS, 4 * syncNanos);
  }

  /**
   * How many transactions the forming group should wait for: the number of threads that committed within
   * {@link #recentWindowNanos}. Threads that each wait for their own commit before the next one commit again
   * about once per group, so this is the group size they can reach. A thread alone never waits for itself.
   */
  private int expectedGroupSize() {
    long now = System.nanoTime();
    long recent = recentWindowNanos();
    int n = 0;
    for (long at : recentCommitters.values()) {
      if (now - at <= recent) {
        n++;
      }
    }
    return n;
  }

  /** Transactions queued that a leader may write now (held batch transactions excluded). */
  private int queuedTransactions() {
    int n = 0;
    for (Pending p : queue) {
      if (p.held) {
        break;
      }
      n += p.txns;
    }
    return n;
  }

  /**
   * The leader's wait before it writes: while fewer transactions are queued than threads have recently been
   * committing (at most half a sync, see {@link #GROUP_WAIT_NANOS}), or while another transaction is being built
   * (its thread holds or waits for the writer lock; at most {@link #GROUP_WAIT_NANOS}), it waits, woken by each
   * commit, so that they share this group's sync instead of each paying for the next one. Threads just woken by
   * the previous group are not building yet when the leader starts; counting recent committers is what keeps them
   * in the group.
   */
  private Linger lingerForGroup() {
    long start = System.nanoTime();
    // A transaction being built is worth at most the fixed wait: its thread may be doing other work under the
    // writer lock (a migration batch), and a slow device makes syncs long, not builders quick.
    long buildingDeadline = start + GROUP_WAIT_NANOS;
    long membersDeadline = start + Math.min(MAX_GROUP_WAIT_NANOS, Math.max(GROUP_WAIT_NANOS, syncNanos / 2));
    waitingLeader = Thread.currentThread();
    try {
      while (true) {
        long now = System.nanoTime();
        boolean fewer;
        int expected;
        synchronized (monitor) {
          expected = expectedGroupSize();
          fewer = queuedTransactions() < expected;
        }
        long until;
        if (fewer && now < membersDeadline) {
          until = membersDeadline;
        } else if (now < buildingDeadline && moreComing.getAsBoolean()) {
          until = buildingDeadline;
        } else {
          return new Linger(expected, fewer, now - start);
        }
        groupWaits++;
        LockSupport.parkNanos(until - now);
      }
    } finally {
      waitingLeader = null;
    }
  }

  /** How a leader's wait for its group ended (see {@link GroupListener}). */
  private record Linger(int expected, boolean cutShort, long waitedNanos) {}

  /**
   * Sees each group a commit leader forms, with what decided its size: a test of grouping cannot tell from the
   * group sizes alone whether a small group is the leader's doing or a committer the host's scheduler held back.
   */
  @FunctionalInterface
  public interface GroupListener {
    /**
     * A leader took {@code transactions} transactions off the queue to write as one group, after waiting
     * {@code waitedNanos} for them while {@code expected} threads counted as active committers. {@code cutShort}:
     * fewer than {@code expected} were queued when that wait ended, so it ended at its deadline. Called by the
     * leader once the group is durable; it must neither throw nor call into the volume.
     */
    void formed(int transactions, int expected, boolean cutShort, long waitedNanos);
  }

  public void setGroupListener(GroupListener l) {
    this.groupListener = l;
  }

  /** Lets the leader write a finished batch's held transactions. */
  public void release() {
    synchronized (monitor) {
      for (Pending p : queue) {
        p.held = false;
      }
      unheldTicket = lastTicket;
      monitor.notifyAll();
    }
  }

  /**
   * The newest ticket a checkpoint started now would cover: held batch transactions are excluded, as {@link
   * #checkpoint} stops short of them.
   */
  public long checkpointableTicket() {
    return lastWritableTicket();
  }

  /** The newest ticket a leader may write now (held batch transactions excluded). */
  private long lastWritableTicket() {
    synchronized (monitor) {
      long t = durableTicket;
      for (Pending p : queue) {
        if (p.held) {
          break;
        }
        t = p.ticket;
      }
      return Math.max(t, durableTicket);
    }
  }

  /** The newest ticket known durable. */
  public long durableTicket() {
    synchronized (monitor) {
      return durableTicket;
    }
  }

  /**
   * The newest ticket handed out that no running batch holds back: what a wait for everything returned so far
   * outside batches waits for. Unlike {@link #checkpointableTicket} it counts a group a leader has taken from the
   * queue and is still writing.
   */
  public long lastUnheldTicket() {
    synchronized (monitor) {
      return unheldTicket;
    }
  }

  /** The newest ticket handed out. */
  public long lastTicket() {
    synchronized (monitor) {
      return lastTicket;
    }
  }

  private VdeException failed() {
    return new VdeException("volume stopped after an I/O error in the metadata WAL (" + failure.getMessage()
        + "); reopen it to recover", resource, failure);
  }

  /**
   * Returns once the transaction with {@code ticket} is durable. The first waiting thread becomes the leader
   * and writes everything queued so far as one WAL transaction with one sync (group commit); the others wait
   * for it.
   *
   * <p>An interrupt does not cut the wait short: the transaction is already committed (published, and written by
   * whichever thread leads next), so an exception here would report as failed an operation that took effect,
   * and a caller that retried would apply it twice. The wait is normally one group's sync; the interrupt status
   * is set again before this returns.
   */
  public void awaitDurable(long ticket) throws IOException {
    // Put aside so that the waits below (and a leader's linger) wait; kept here and set again on the way out.
    boolean[] interrupted = {Thread.interrupted()};
    try {
      awaitDurable(ticket, interrupted);
    } finally {
      if (interrupted[0]) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** {@link #awaitDurable}'s loop; an interrupt while it waits is noted in {@code interrupted[0]}. */
  private void awaitDurable(long ticket, boolean[] interrupted) throws IOException {
    while (true) {
      synchronized (monitor) {
        while (true) {
          // Durable first: a group that failed after this ticket's was synced does not undo it, and reporting the
          // operation as failed would mislead a caller into retrying or giving up on data that every open replays.
          if (durableTicket >= ticket) {
            return;
          }
          if (failure != null) {
            throw failed();
          }
          if (!leaderActive) {
            break;
          }
          try {
            monitor.wait();
          } catch (InterruptedException e) {
            interrupted[0] = true;
          }
        }
        leaderActive = true;
      }
      Linger linger = lingerForGroup();
      // The group is taken off the queue under the WAL lock, never before it: a checkpoint takes that lock and
      // first writes what is queued, so it cannot run between a group leaving the queue and reaching the WAL. A
      // group taken first and written after a close's checkpoint met a closed device, and was lost.
      boolean wrote;
      walLock.lock();
      try {
        wrote = writeQueuedLocked(linger);
      } finally {
        walLock.unlock();
        synchronized (monitor) {
          leaderActive = false;
          monitor.notifyAll();
        }
      }
      if (!wrote) {
        synchronized (monitor) {
          if (durableTicket < ticket && failure == null) {
            // Everything left is a batch still running; wait for its release instead of spinning.
            try {
              monitor.wait(50);
            } catch (InterruptedException e) {
              interrupted[0] = true;
            }
          }
        }
      }
    }
  }

  /**
   * Writes every queued transaction no running batch holds back as one group (see {@link #awaitDurable}); returns
   * false when there was none. Call with the WAL lock held. A failure stops the journal, with what the WAL synced
   * before it reported durable, and is thrown as {@link #failed} (an {@code Error} as itself). {@code linger}: how
   * the leader's wait for the group ended, for the {@link GroupListener}; null when a checkpoint writes the queue.
   */
  private boolean writeQueuedLocked(Linger linger) throws IOException {
    List<Pending> batch = new ArrayList<>();
    synchronized (monitor) {
      while (!queue.isEmpty() && !queue.peekFirst().held) {
        batch.add(queue.pollFirst());
      }
    }
    if (batch.isEmpty()) {
      return false;
    }
    int txns = 0;
    for (Pending p : batch) {
      txns += p.txns;
    }
    try {
      writeBatchLocked(batch);
    } catch (IOException | RuntimeException | Error e) {
      // An Error too (out of memory encoding the group, say): the group has left the queue, so a journal that
      // went on would never write it, its waiters would wait for good, and later groups would reach the WAL
      // without the transactions they were built on. Stopped before the WAL lock goes: a sync outside the WAL
      // waiting for it must find the journal stopped, as the failed sync may have dropped its writes too and a
      // sync of its own would now succeed. A group that did not fit behind the WAL's head is written in parts
      // with a checkpoint between them; when the checkpoint or a later part fails, the parts already synced stay
      // durable (stop() reports them), so their waiters hear that rather than the failure.
      stop(e);
      if (e instanceof Error x) {
        throw x;
      }
      throw failed();
    }
    long reached = walDurableTicket;
    synchronized (monitor) {
      if (reached > durableTicket) {
        durableTicket = reached;
      }
      monitor.notifyAll();
    }
    GroupListener gl = groupListener;
    if (gl != null && linger != null) {
      gl.formed(txns, linger.expected(), linger.cutShort(), linger.waitedNanos());
    }
    return true;
  }

  private void writeBatchLocked(List<Pending> batch) throws IOException {
    // A sync outside the WAL that failed while this leader waited for the lock may have cost writes its group
    // depends on (data listed by checksum), and a sync now would report nothing about them.
    throwIfStopped();
    int i = 0;
    while (i < batch.size()) {
      LinkedHashMap<Long, byte[]> merged = new LinkedHashMap<>();
      List<DataCheck> checks = new ArrayList<>();
      long runs = 0;
      int j = i;
      long remaining = memoryBoundBlocks - walPos;
      while (j < batch.size()) {
        Pending p = batch.get(j);
        LinkedHashMap<Long, byte[]> trial = new LinkedHashMap<>(merged);
        for (Map.Entry<Long, byte[]> im : p.images.entrySet()) {
          trial.remove(im.getKey());
          trial.put(im.getKey(), im.getValue());
        }
        long need = WalCodec.blocksNeeded(blockSize, trial.size(), checks.size() + p.checks.size(),
            runs + p.checkRuns);
        // After a checkpoint one entry larger than the memory bound (a big batch) may still use the whole WAL.
        if (need > remaining && !(j == i && walPos == 0 && need <= walBlocks)) {
          break;
        }
        merged = trial;
        checks.addAll(p.checks);
        runs += p.checkRuns;
        j++;
      }
      if (j == i) {
        if (walPos == 0) {
          throw new VdeException("a transaction needs more WAL blocks than the WAL has (" + walBlocks + ")");
        }
        checkpointLocked();
        continue;
      }
      List<BlockImage> images = new ArrayList<>(merged.size());
      merged.forEach((k, v) -> images.add(new BlockImage(k, v)));
      byte[] encoded = WalCodec.encode(blockSize, nextTxId, salt, images, checks);
      dev.write((walStart + walPos) * blockSize, ByteBuffer.wrap(encoded));
      long s0 = System.nanoTime();
      dev.sync();
      syncNanos += (System.nanoTime() - s0 - syncNanos) / 8;
      walPos += encoded.length / blockSize;
      nextTxId++;
      durable.putAll(merged);
      walDurableTicket = batch.get(j - 1).ticket;
      groupsWritten++;
      i = j;
    }
  }

  /**
   * Syncs writes made outside the WAL (file data written in place before its transaction commits, a streamed
   * write's staged data, a migration's new table and records). A host that fails to write pages back drops them
   * and reports the failure to one sync only, whichever write the pages came from: a failed sync here may have cost
   * the WAL blocks of a group commit or the home blocks of a checkpoint written meanwhile, whose own sync would then
   * succeed. So it runs under the WAL lock, between groups and checkpoints, and a failure stops the journal as a
   * failed WAL sync does: nothing written before it is acknowledged or checkpointed afterwards.
   */
  public void syncOutsideWal() throws IOException {
    walLock.lock();
    try {
      throwIfStopped();
      try {
        dev.sync();
      } catch (IOException | RuntimeException | Error e) {
        stop(e);
        throw e;
      }
    } finally {
      walLock.unlock();
    }
  }

  /**
   * Both superblock slots as they are on the device, read with the WAL lock held, so that no checkpoint is between
   * its two slot writes (steps 6 and 6b): two copies naming different epochs were then left by a checkpoint that was
   * cut, or by damage, and not by one in progress. The verifier compares them.
   */
  public byte[][] readSuperblockSlots() throws IOException {
    walLock.lock();
    try {
      byte[][] slots = new byte[2][blockSize];
      for (int slot = 0; slot < 2; slot++) {
        dev.read((long) slot * blockSize, ByteBuffer.wrap(slots[slot]));
      }
      return slots;
    } finally {
      walLock.unlock();
    }
  }

  /**
   * Makes everything committed so far durable and checkpoints: afterwards the WAL is empty and every freed
   * block is reusable. A running batch's transactions are left out: they stay queued until it ends.
   */
  public void checkpoint() throws IOException {
    walLock.lock();
    try {
      // What is queued goes to the WAL first, under the same lock: a group a leader has taken is written before
      // this lock is free, and one still queued is written here. A batch in progress (held transactions) stays
      // queued: its images are not durable, so not checkpointed.
      writeQueuedLocked(null);
      checkpointLocked();
    } finally {
      walLock.unlock();
    }
  }

  private void checkpointLocked() throws IOException {
    if (readOnly || durable.isEmpty() && walPos == 0 && recoveryDone) {
      // Nothing committed since the last checkpoint: leave the image byte for byte as it is.
      return;
    }
    throwIfStopped();
    try {
      checkpointSteps();
    } catch (IOException | RuntimeException | Error e) {
      // Fail-stop, whoever called: once the first superblock copy may have gone out with a new salt, which salt
      // the disk names is unknown, and a transaction appended under the old one could be ignored by recovery
      // after it was acknowledged. Reopening recovers from what is on disk.
      stop(e);
      throw e;
    }
  }

  private void throwIfStopped() throws IOException {
    synchronized (monitor) {
      if (failure != null) {
        throw failed();
      }
    }
  }

  /**
   * Stops the journal for good with {@code e} (the first failure is the one reported) and wakes every waiter. Call
   * with the WAL lock held: what the WAL has synced so far is made known as durable first, so that a waiter woken
   * here hears that its transaction is durable rather than the failure.
   */
  private void stop(Throwable e) {
    IOException io = e instanceof IOException x ? x : new IOException(e.toString(), e);
    long reached = walDurableTicket;
    synchronized (monitor) {
      if (reached > durableTicket) {
        durableTicket = reached;
      }
      if (failure == null) {
        failure = io;
      }
      monitor.notifyAll();
    }
  }

  /** The checkpoint proper (steps 5 to 6b of DESIGN.md section 2); {@link #checkpointLocked} fail-stops on error. */
  private void checkpointSteps() throws IOException {
    TreeMap<Long, byte[]> inPlace = new TreeMap<>(durable);
    byte[] sbImage = inPlace.remove(0L);
    writeInPlace(inPlace);
    dev.sync();
    Superblock base = sbImage != null ? Superblock.read(sbImage, 0, resource) : onDiskSb;
    long newSalt = Salt.next();
    Superblock next = base.withCheckpoint(onDiskSb.sequence() + 1, nextTxId - 1, newSalt);
    dev.write((long) next.slot() * blockSize, ByteBuffer.wrap(next.write()));
    dev.sync();
    // (6b) The same checkpoint goes to the other slot too, so both copies name the new salt: a copy lost later
    // leaves one that still finds every transaction of this epoch. Nothing enters the new epoch's WAL before it
    // is synced, so a crash in between loses nothing either (the first copy alone names an empty epoch).
    Superblock twin = next.withCheckpoint(next.sequence() + 1, nextTxId - 1, newSalt);
    dev.write((long) twin.slot() * blockSize, ByteBuffer.wrap(twin.write()));
    dev.sync();
    onDiskSb = twin;
    salt = newSalt;
    walPos = 0;
    for (Map.Entry<Long, byte[]> e : durable.entrySet()) {
      if (published.remove(e.getKey(), e.getValue()) && isData(e.getValue())) {
        publishedData.decrementAndGet();
      }
    }
    durable.clear();
    checkpoints++;
    listener.checkpointed(walDurableTicket);
  }

  /** WAL blocks in use since the last checkpoint. */
  public long walUsed() {
    walLock.lock();
    try {
      return walPos;
    } finally {
      walLock.unlock();
    }
  }

  public long groupsWritten() {
    return groupsWritten;
  }

  /** How many times a group leader paused to let another transaction join its group. */
  public long groupWaits() {
    return groupWaits;
  }

  public long checkpoints() {
    return checkpoints;
  }

  /** The I/O error that stopped the journal, described, or null when it has not stopped. */
  public String failureMessage() {
    synchronized (monitor) {
      return failure == null ? null : failure.getMessage();
    }
  }

  public boolean isFailed() {
    synchronized (monitor) {
      return failure != null;
    }
  }

  /** Makes everything durable, checkpoints (unless read-only or failed) and closes the device. */
  @Override
  public void close() throws IOException {
    try {
      if (!readOnly && !isFailed()) {
        checkpoint();
      }
    } finally {
      dev.close();
    }
  }

  /** The device, for file data I/O by the engine. */
  public BlockDevice device() {
    return dev;
  }
}
