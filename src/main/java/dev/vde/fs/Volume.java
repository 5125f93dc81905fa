package dev.vde.fs;

import dev.vde.VdeCorruptedException;
import dev.vde.VdeException;
import dev.vde.VdeFormatTooNewException;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.VdeNoSpaceException;
import dev.vde.VdeReadOnlyException;
import dev.vde.alloc.AllocationBitmap;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.InodeLayout;
import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Salt;
import dev.vde.format.Superblock;
import dev.vde.inode.Inode;
import dev.vde.inode.InodeCodec;
import dev.vde.io.BlockDevice;
import dev.vde.wal.BlockImage;
import dev.vde.wal.DataCheck;
import dev.vde.wal.Journal;
import dev.vde.wal.SuperblockSlots;
import dev.vde.wal.WalCodec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The engine's state for one open volume: superblock, region directory, allocation bitmap, journal, and the
 * transaction machinery the file operations use. Not part of the stable API; {@link VirtualDisk} is.
 *
 * <h2>Locking</h2>
 * Writers are serialized by {@link #writerLock()} for the whole operation (building a transaction, writing file
 * data). Publishing a transaction (in-memory state switches to the new version) happens under the write side
 * of {@link #stateLock()}; readers hold its read side for a whole read, so they always see one published state
 * and the blocks it references cannot be freed under them. Waiting for durability happens after both are
 * released, which is what lets concurrent writers share a sync (group commit).
 *
 * <p>A read that hands data to the caller's code as it goes (a stream to an {@code OutputStream}, which may be a
 * slow network client) must not hold the state lock meanwhile: a publish waiting for it would stop every writer,
 * and the readers that queue behind that waiting publish. Such a read takes its file's extents under the lock and
 * then holds a <em>read pin</em> ({@link #pinForRead}) instead. Data blocks are never rewritten in place: a block
 * gets other bytes only after it was freed, released to the allocator and allocated again. A pin names the
 * newest ticket its snapshot saw; frees of later transactions are not released while it is held (see
 * {@link #releaseCheckpointedFrees}), so every block the snapshot names keeps its bytes until the pin ends.
 * Frees the snapshot already saw do not concern it. Pins live in memory only: after a crash there is no read to
 * protect, and the durable bitmap is never affected, only when freed space becomes allocatable again.
 */
public final class Volume {
  /** Transactions writing more data blocks than this sync them before committing instead of listing them. */
  static final int DATA_SYNC_THRESHOLD = 256;
  /**
   * An unbatched transaction writing at most this many data blocks journals them: they go into the WAL with its
   * metadata and in place only at the next checkpoint. Its commit then syncs one contiguous WAL write instead of
   * scattered data blocks too, which on a sparse host file would also commit the host's block allocations. On a
   * preallocated host file ({@link Superblock#COMPAT_HOST_PREALLOCATED}) there is nothing to save and the
   * checkpoint would only have more to write, so data goes in place there.
   */
  static final int JOURNALED_DATA_BLOCKS = 16;

  private final BlockDevice dev;
  private final Journal journal;
  private final String resource;
  private final int blockSize;
  private final AllocationBitmap bitmap;
  private final String readOnlyReason;
  private final List<String> warnings = new ArrayList<>();
  private final ReentrantLock writerLock = new ReentrantLock();
  /** The change trackers of live copies in progress (see {@link #startTracking}); guarded by the writer lock. */
  private final List<ChangeTracker> trackers = new ArrayList<>();
  /** Blocks reserved by streamed writes still reading their streams ({@link StreamedWrite}); writer lock. */
  private long streamReserved;
  private final ReentrantReadWriteLock stateLock = new ReentrantReadWriteLock();
  private volatile Superblock sb;
  private volatile RegionDirectory regions;

  /** Frees waiting for the checkpoint that makes them reusable (AllocationBitmap (2)). */
  private record PendingFree(long ticket, long start, long count) {}

  private final ConcurrentLinkedQueue<PendingFree> pendingFrees = new ConcurrentLinkedQueue<>();
  private final AtomicLong releasableUpTo = new AtomicLong();
  /** Indexes of bitmap blocks a read-only open could not read and replaced by all-allocated stand-ins. */
  private List<Long> unreadableBitmapBlocks = List.of();
  /** Why a writable open of this volume is read-only because its bitmap marks metadata free, or null. */
  private String metadataMarkedFree;
  /** Read pins held: the ticket each saw, and how many hold it. Guarded by itself. */
  private final java.util.TreeMap<Long, Integer> readPins = new java.util.TreeMap<>();
  final InodeStore inodes;
  final Directories directories;
  private volatile MigrationTarget migrationTarget;
  private volatile long lastCommitNanos = System.nanoTime() - 1_000_000_000L;
  private volatile MigrationCheckpoint pendingMigration;
  private volatile boolean closed;

  private Volume(BlockDevice dev, Journal journal, Superblock sb, RegionDirectory regions, AllocationBitmap bitmap,
      String readOnlyReason) {
    this.dev = dev;
    this.journal = journal;
    this.resource = dev.describe();
    this.blockSize = sb.blockSize();
    this.sb = sb;
    this.regions = regions;
    this.bitmap = bitmap;
    this.readOnlyReason = readOnlyReason;
    this.inodes = new InodeStore(this);
    this.directories = new Directories(this);
    journal.setCheckpointListener(t -> releasableUpTo.accumulateAndGet(t, Math::max));
    journal.setMoreComing(() -> writerLock.isLocked() && !writerLock.isHeldByCurrentThread());
  }

  // ---------------------------------------------------------------- create

  /** Computed placement of a new volume's structures. */
  public record Plan(long totalBlocks, int rdBlocks, long bitmapStart, long bitmapBlocks, long walStart,
      long walBlocks, long checkpointStart, long inodeStart, long inodeBlocks, long inodeCount, InodeLayout layout,
      List<RegionDirectory.Entry> moduleRegions, long metadataEnd) {}

  public static Plan plan(CreateOptions o) throws VdeInvalidArgumentException {
    int bs = o.blockSize();
    if (!Superblock.isValidBlockSize(bs)) {
      throw new VdeInvalidArgumentException("block size " + bs + " is not a power of two from 512 to 65536");
    }
    long total = o.sizeBytes() / bs;
    if (total < 64) {
      throw new VdeInvalidArgumentException("volume size " + o.sizeBytes() + " bytes is too small: need at least "
          + 64L * bs + " bytes (64 blocks of " + bs + ")");
    }
    if (total > (1L << 40)) {
      throw new VdeInvalidArgumentException("volume size " + o.sizeBytes() + " bytes is too large");
    }
    String heap = AllocationBitmap.heapProblem(total, bs);
    if (heap != null) {
      throw new VdeInvalidArgumentException("volume size " + o.sizeBytes() + " bytes: " + heap
          + (heap.endsWith("smaller size") ? "" : ", or choose a smaller size"));
    }
    byte[] label = o.label().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    if (label.length > Superblock.LABEL_BYTES) {
      throw new VdeInvalidArgumentException("label is " + label.length + " bytes; at most "
          + Superblock.LABEL_BYTES + " bytes of UTF-8");
    }
    // The superblock keeps the label as UTF-8 padded with zeros: a NUL would end it there, an unpaired surrogate
    // would be stored as '?'.
    if (o.label().indexOf('\0') >= 0 || Bytes.unpairedSurrogate(o.label()) >= 0) {
      throw new VdeInvalidArgumentException("label must be valid Unicode without NUL");
    }
    long manifest = Module.manifestOf(o.modules());
    InodeLayout layout = InodeLayout.canonical(manifest);
    if (layout.inodeSize() > BlockCodec.payloadSize(bs)) {
      throw new VdeInvalidArgumentException("inodes of " + layout.inodeSize() + " bytes do not fit in " + bs
          + "-byte blocks; choose a larger block size");
    }
    int rd = RegionDirectory.blocksFor(bs);
    long bitmapBlocks = AllocationBitmap.blocksFor(total, bs);
    if (o.walBlocks() < 0 || o.walBlocks() > 0 && o.walBlocks() < Superblock.MIN_WAL_BLOCKS) {
      throw new VdeInvalidArgumentException("metadata WAL of " + o.walBlocks() + " blocks: it needs at least "
          + Superblock.MIN_WAL_BLOCKS + " (or 0 for the default)");
    }
    if (o.walBlocks() > total) {
      // Checked alone: added to the other regions' sizes, a huge count would overflow and pass.
      throw new VdeInvalidArgumentException("metadata WAL of " + o.walBlocks() + " blocks does not fit in a volume of "
          + total + " blocks");
    }
    long wal = o.walBlocks() > 0 ? o.walBlocks() : Math.max(64, Math.min(8192, total / 32));
    int ipb = InodeCodec.perBlock(bs, layout.inodeSize());
    long inodes = o.inodeCount() != 0 ? o.inodeCount()
        : Math.max(64, Math.min((1L << 32) - 1, total * bs / 16384));
    if (inodes < 2 || inodes > (1L << 32) - 1) {
      throw new VdeInvalidArgumentException("inode count " + inodes + " must be from 2 to " + ((1L << 32) - 1));
    }
    long inodeBlocks = (inodes + ipb - 1) / ipb;
    long bitmapStart = 2 + rd;
    long walStart = bitmapStart + bitmapBlocks;
    long chk = walStart + wal;
    long inodeStart = chk + 2;
    long end = inodeStart + inodeBlocks;
    List<RegionDirectory.Entry> mods = new ArrayList<>();
    for (Module m : Module.fromManifest(manifest)) {
      for (Module.Region r : m.regions()) {
        long n = r.blocksFor(total);
        mods.add(RegionDirectory.Entry.forModule(m, r, end, n));
        end += n;
      }
    }
    if (end + 8 > total) {
      throw new VdeInvalidArgumentException("volume size " + o.sizeBytes() + " bytes is too small for its "
          + "metadata (" + end + " blocks of " + bs + " bytes with " + inodes + " inodes); make it larger or use"
          + " fewer inodes");
    }
    return new Plan(total, rd, bitmapStart, bitmapBlocks, walStart, wal, chk, inodeStart, inodeBlocks, inodes,
        layout, mods, end);
  }

  /**
   * Formats {@code dev}. Everything but the superblocks is written and synced first, then both superblock
   * copies, then a second sync: until that last step the device has no valid superblock and cannot be opened as
   * a volume, so a crash during create never leaves something that looks valid but is not.
   */
  static Volume create(BlockDevice dev, CreateOptions o) throws IOException {
    Plan p = plan(o);
    int bs = o.blockSize();
    // The bitmap is the largest allocation: a heap that cannot hold it fails here, before the device is touched.
    AllocationBitmap bm = AllocationBitmap.empty(p.totalBlocks(), bs);
    // Start from nothing: an old superblock left on a reused device (at another block size) must not win.
    dev.truncate(0);
    dev.truncate(p.totalBlocks() * bs);
    if (o.preallocate()) {
      // Zeros are what a hole reads as, so this is invisible to the format; it only gives the host file real
      // blocks. The metadata below overwrites some of them; the sync after it covers these writes too.
      writeZeros(dev, p.totalBlocks() * bs);
    }
    long metaEnd = p.metadataEnd();
    // Blocks 0 to the end of the inode table are metadata; module regions follow and are allocated too.
    if (bm.reserveRun(metaEnd) != 0) {
      throw new IllegalStateException("fresh bitmap did not start free");
    }
    bm.publishAllocated(0, metaEnd);
    RegionDirectory rd = new RegionDirectory(List.of(
        new RegionDirectory.Entry(RegionDirectory.TAG_BITMAP, 0, p.bitmapStart(), p.bitmapBlocks()),
        new RegionDirectory.Entry(RegionDirectory.TAG_WAL, 0, p.walStart(), p.walBlocks()),
        new RegionDirectory.Entry(RegionDirectory.TAG_CHECKPOINT, 0, p.checkpointStart(), 2),
        new RegionDirectory.Entry(RegionDirectory.TAG_INODES, 0, p.inodeStart(), p.inodeBlocks())));
    for (RegionDirectory.Entry e : p.moduleRegions()) {
      rd = rd.with(e);
    }
    List<byte[]> rdBlocks = rd.write(bs, p.rdBlocks());
    for (int i = 0; i < rdBlocks.size(); i++) {
      dev.write((2L + i) * bs, ByteBuffer.wrap(rdBlocks.get(i)));
    }
    for (int i = 0; i < p.bitmapBlocks(); i++) {
      dev.write((p.bitmapStart() + i) * bs, ByteBuffer.wrap(bm.encodeBlock(i)));
    }
    long now = System.currentTimeMillis();
    Inode root = new Inode(Inode.ROOT, Inode.TYPE_DIRECTORY, 0, 0755, 2, 0, now, now, now, now, 0, 1, Inode.ROOT,
        List.of(), new byte[p.layout().inodeSize() - InodeLayout.CORE_SIZE]);
    int ipb = InodeCodec.perBlock(bs, p.layout().inodeSize());
    long rootBlock = Inode.ROOT / ipb;
    for (long k = 0; k <= rootBlock; k++) {
      byte[] it = new byte[bs];
      if (k == rootBlock) {
        InodeCodec.write(it, (int) (Inode.ROOT % ipb) * p.layout().inodeSize(), root, p.layout());
      }
      BlockCodec.seal(it, BlockType.INODE_TABLE, (int) k);
      dev.write((p.inodeStart() + k) * bs, ByteBuffer.wrap(it));
    }
    dev.sync();
    long manifest = Module.manifestOf(o.modules());
    Superblock sb = new Superblock(Superblock.FORMAT_MAJOR, Superblock.FORMAT_MINOR_CURRENT, bs,
        p.layout().inodeSize(), p.totalBlocks(), UUID.randomUUID(), now, now, 0,
        o.preallocate() ? Superblock.COMPAT_HOST_PREALLOCATED : 0, 0, 0, 0, 0, p.inodeCount(), 1,
        bm.durableFree(), 2, p.rdBlocks(), p.walStart(), p.walBlocks(), 0, Salt.next(), rootBlock + 1,
        o.label(), InodeLayout.canonical(0)).withManifest(manifest, p.layout());
    Superblock sb1 = sb.withCheckpoint(1, 0, sb.walSalt());
    dev.write(0, ByteBuffer.wrap(sb.write()));
    dev.write(bs, ByteBuffer.wrap(sb1.write()));
    dev.sync();
    Journal j = Journal.forNewVolume(dev, sb1);
    return new Volume(dev, j, sb1, rd, bm, null);
  }

  /** Writes zeros over bytes {@code [0, length)} of the device. */
  private static void writeZeros(BlockDevice dev, long length) throws IOException {
    ByteBuffer zeros = ByteBuffer.allocateDirect(1 << 20);
    for (long off = 0; off < length; off += zeros.capacity()) {
      zeros.clear();
      zeros.limit((int) Math.min(zeros.capacity(), length - off));
      dev.write(off, zeros);
    }
  }

  // ---------------------------------------------------------------- open

  /**
   * Whether a volume with superblock {@code sb} may be opened here: throws if not, else returns why it opens
   * read-only (null: writable). The most informative reason wins: a read-only request hides neither an
   * unwritable file nor unknown features.
   */
  private static String admit(Superblock sb, boolean readOnlyRequested, boolean deviceReadOnly, String res)
      throws VdeException {
    SuperblockSlots.checkVersion(sb, res);
    long unknownIncompat = sb.incompat() & ~Superblock.KNOWN_INCOMPAT;
    if (unknownIncompat != 0) {
      throw new VdeFormatTooNewException(String.format("volume uses features this engine does not know "
          + "(incompat bits 0x%016x); it refuses to open it; upgrade vde", unknownIncompat), res);
    }
    if ((sb.incompat() & Superblock.INCOMPAT_INCOMPLETE_COPY) != 0) {
      throw new VdeCorruptedException(-1, "superblock", "incomplete copy: this volume is the destination of a "
          + "copy that did not finish; delete it and run the copy again", res);
    }
    long unknownRo = sb.roCompat() & ~Superblock.KNOWN_RO_COMPAT;
    if (unknownRo != 0) {
      return String.format("volume uses features this engine cannot keep up to date (roCompat bits 0x%016x); "
          + "opened read-only; upgrade vde to write to it", unknownRo);
    }
    if (deviceReadOnly) {
      return "host file is not writable";
    }
    return readOnlyRequested ? "opened read-only on request" : null;
  }

  static Volume open(BlockDevice dev, boolean readOnlyRequested, boolean deviceReadOnly) throws IOException {
    String res = dev.describe();
    SuperblockSlots.Loaded loaded = SuperblockSlots.load(dev);
    // The whole bitmap is held in memory: a JVM that cannot hold it refuses before recovery writes anything.
    String heap = AllocationBitmap.heapProblem(loaded.superblock().totalBlocks(), loaded.superblock().blockSize());
    if (heap != null) {
      throw new VdeException("cannot open: " + heap, res, null);
    }
    // The features are judged on the superblock in place and again on the one recovery leaves: a transaction
    // still in the WAL may carry bits the copies in place do not have yet (a migration's start, a module).
    Journal.Admission admission = sb -> admit(sb, readOnlyRequested, deviceReadOnly, res);
    admission.readOnlyReason(loaded.superblock());
    Journal j = Journal.open(dev, loaded, admission);
    String roReason = admission.readOnlyReason(j.onDiskSuperblock());
    boolean unknownRo = (j.onDiskSuperblock().roCompat() & ~Superblock.KNOWN_RO_COMPAT) != 0;
    // Damage that costs acknowledged writes says more than a read-only request or an unwritable host file.
    if (j.recovery().walDamage() != null && !unknownRo) {
      roReason = j.recovery().walDamage() + "; opened read-only so that they are not discarded: copy out what you "
          + "need, or restore the volume from a backup";
    }
    try {
      Superblock sb = j.onDiskSuperblock();
      List<byte[]> rdb = new ArrayList<>();
      for (int i = 0; i < sb.regionDirBlocks(); i++) {
        rdb.add(j.read(sb.regionDirStart() + i, BlockType.REGION_DIRECTORY));
      }
      RegionDirectory rd = RegionDirectory.read(rdb, sb.regionDirStart(), res);
      String rdProblem = regionDirectoryProblem(sb, rd);
      if (rdProblem != null) {
        throw new VdeCorruptedException(sb.regionDirStart(), "region directory", rdProblem, res);
      }
      RegionDirectory.Entry bmr = rd.find(RegionDirectory.TAG_BITMAP);
      List<Long> unreadable = new ArrayList<>();
      List<String> unreadableWhy = new ArrayList<>();
      boolean mayGuess = roReason != null;
      AllocationBitmap bm = AllocationBitmap.read(i -> {
        try {
          return j.read(bmr.start() + i, BlockType.BITMAP);
        } catch (VdeCorruptedException e) {
          // Reading files does not need the bitmap: a read-only open goes on with the block's range taken as
          // allocated, so that the files stay readable; a writable open must not allocate from a guess.
          if (!mayGuess) {
            throw e;
          }
          unreadable.add(i);
          unreadableWhy.add(e.getMessage());
          return AllocationBitmap.allAllocatedBlock(i, sb.totalBlocks(), sb.blockSize());
        }
      }, bmr.start(), sb.totalBlocks(), sb.blockSize(), res);
      String unmarked = metadataMarkedFree(bm, sb, rd);
      String unmarkedReason = unmarked == null ? null : unmarked + "; opened read-only so that no new block is "
          + "placed there: copy out what you need, or restore the volume from a backup";
      if (unmarkedReason != null && roReason == null) {
        roReason = unmarkedReason;
      }
      Volume v = new Volume(dev, j, sb, rd, bm, roReason);
      v.metadataMarkedFree = unmarkedReason;
      if (unmarked != null) {
        v.warnings.add(unmarked);
      }
      v.unreadableBitmapBlocks = List.copyOf(unreadable);
      for (String why : unreadableWhy) {
        v.warnings.add(why + "; opened read-only, with the blocks it covers taken as allocated (the free space "
            + "shown may be too low)");
      }
      v.loadPendingMigration();
      Journal.Recovery r = j.recovery();
      if (r.otherSlotProblem() != null) {
        v.warnings.add(r.otherSlotProblem() + (roReason == null ? " (repaired)" : " (will be repaired on the next"
            + " writable open)"));
      }
      if (r.walDamage() != null) {
        v.warnings.add(r.walDamage());
      }
      if (r.transactionsReplayed() > 0) {
        String replayed = r.transactionsReplayed() + " committed WAL transaction(s) (" + r.imagesReplayed()
            + " blocks)";
        // A read-only open writes nothing: the image still needs the recovery that the next writable open does,
        // which matters to whoever copies the file or inspects it with other tools meanwhile.
        v.warnings.add(j.isReadOnly() ? "replayed " + replayed + " in memory only: opened read-only, the image is "
            + "unchanged until a writable open writes them in place" : "recovered " + replayed);
      }
      // With stand-ins for unreadable bitmap blocks the bitmap's count is a guess (said above), not a disagreement.
      if (unreadable.isEmpty() && bm.durableFree() != sb.freeBlocks()) {
        v.warnings.add("superblock free count " + sb.freeBlocks() + " differs from the bitmap's "
            + bm.durableFree());
      }
      return v;
    } catch (IOException | RuntimeException | Error e) {
      dev.close();
      throw e;
    }
  }

  /**
   * Why region directory {@code rd} cannot go with superblock {@code sb}, or null when it can: what open refuses.
   * A format transaction is held to the same rules at commit, so that nothing it commits leaves a volume that no
   * longer opens.
   */
  private static String regionDirectoryProblem(Superblock sb, RegionDirectory rd) {
    List<String> rdProblems = rd.problems(sb.totalBlocks(), sb.regionDirStart() + sb.regionDirBlocks());
    if (!rdProblems.isEmpty()) {
      return String.join("; ", rdProblems);
    }
    if ((sb.incompat() & Superblock.INCOMPAT_MIGRATION_PENDING) == 0) {
      for (int tag : new int[] {RegionDirectory.TAG_INODES_NEW, RegionDirectory.TAG_INODES_OLD}) {
        if (rd.find(tag) != null) {
          // A migration adds these with the pending bit and removes them with it; a later migration would take
          // this one for its own table (FORMAT.md section 7).
          return "region " + BlockType.describeTag(tag) + " is listed but no inode migration is pending";
        }
      }
    }
    RegionDirectory.Entry bmr = rd.find(RegionDirectory.TAG_BITMAP);
    long need = AllocationBitmap.blocksFor(sb.totalBlocks(), sb.blockSize());
    if (bmr.blocks() < need) {
      return "bitmap region has " + bmr.blocks() + " blocks, the volume needs " + need;
    }
    RegionDirectory.Entry wal = rd.find(RegionDirectory.TAG_WAL);
    if (wal.start() != sb.walStart() || wal.blocks() != sb.walBlocks()) {
      return "WAL region " + wal.start() + "+" + wal.blocks() + " disagrees with the superblock's " + sb.walStart()
          + "+" + sb.walBlocks();
    }
    RegionDirectory.Entry ino = rd.find(RegionDirectory.TAG_INODES);
    long ipb = InodeCodec.perBlock(sb.blockSize(), sb.inodeSize());
    if (ino.blocks() * ipb < sb.inodeCount() || sb.inodeTableInitBlocks() > ino.blocks()) {
      return "inode table region of " + ino.blocks() + " blocks cannot hold " + sb.inodeCount() + " inodes";
    }
    return null;
  }

  /**
   * Metadata the bitmap calls free, described; null when every block of the superblocks, the region directory and
   * every region is marked allocated. A writable engine allocates from the bitmap, so such a block would be
   * handed to a file and overwritten: an inode-table block, say, with every inode in it.
   */
  private static String metadataMarkedFree(AllocationBitmap bm, Superblock sb, RegionDirectory rd) {
    List<String> where = new ArrayList<>();
    long rdEnd = sb.regionDirStart() + sb.regionDirBlocks();
    if (!bm.rangeDurablyAllocated(0, rdEnd)) {
      where.add("superblocks and region directory (blocks 0.." + (rdEnd - 1) + ")");
    }
    for (RegionDirectory.Entry e : rd.entries()) {
      if (!bm.rangeDurablyAllocated(e.start(), e.blocks())) {
        where.add("region " + e.tagText() + " (blocks " + e.start() + ".." + (e.end() - 1) + ")");
      }
    }
    return where.isEmpty() ? null : "allocation bitmap marks blocks of the " + String.join(", ", where)
        + " free";
  }

  /**
   * With a migration pending, reads its checkpoint and, while the new table is still being filled, installs the
   * migration target at the checkpointed watermark, so inode writes keep the already-copied part current even
   * before the migration is resumed.
   */
  private void loadPendingMigration() throws IOException {
    if ((sb.incompat() & Superblock.INCOMPAT_MIGRATION_PENDING) == 0) {
      clearLeftoverCheckpoint();
      return;
    }
    RegionDirectory.Entry chk = regions.find(RegionDirectory.TAG_CHECKPOINT);
    RegionDirectory.Entry inom = regions.find(RegionDirectory.TAG_INODES_NEW);
    RegionDirectory.Entry inoo = regions.find(RegionDirectory.TAG_INODES_OLD);
    MigrationCheckpoint c;
    try {
      c = MigrationCheckpoint.newest(journal.readRaw(chk.start()), journal.readRaw(chk.start() + 1),
          chk.start(), resource);
    } catch (VdeCorruptedException e) {
      warnings.add("migration pending but its checkpoint is unreadable (" + e.getOriginalMessage() + "); roll it "
          + "back with 'vde migrate rollback'");
      return;
    }
    boolean matches = c != null && (inom != null && c.newTableStart() == inom.start()
        || inoo != null && c.oldTableStart() == inoo.start());
    if (!matches) {
      warnings.add(inoo != null
          ? "migration pending but no checkpoint describes it; its region swap committed, so finish it with 'vde "
              + "migrate resume'"
          : "migration pending but no checkpoint describes it; roll it back with 'vde migrate rollback'");
      return;
    }
    String mismatch = checkpointMismatch(c, inom);
    if (mismatch != null) {
      warnings.add("migration pending but its checkpoint does not fit the volume (" + mismatch + "); roll it back "
          + "with 'vde migrate rollback'");
      return;
    }
    boolean filling = inom != null && c.phase() != MigrationCheckpoint.Phase.ROLLING_BACK;
    long watermark = filling ? trustedWatermark(c) : 0;
    String unwritten = filling ? unwrittenBelow(c, watermark) : null;
    if (unwritten != null) {
      warnings.add("migration pending but its checkpoint does not fit the volume (" + unwritten + "); roll it back "
          + "with 'vde migrate rollback'");
      return;
    }
    pendingMigration = c;
    if (filling) {
      migrationTarget = new MigrationTarget(c.newTableStart(), c.newTableBlocks(), c.originalLayout(),
          c.targetLayout(), blockSize, watermark);
    }
  }

  /**
   * Zeroes the checkpoint blocks of a volume with no migration pending when they still hold a record: one left by
   * a start whose transaction failed or was cut off by a crash before it committed, or by a completion or rollback
   * cut off before it zeroed them. Open ignores it, but {@code InodeMigration.peek} (behind {@code vde migrate
   * status} while another process holds the volume) cannot see the pending bit, which lives in the WAL until the
   * next journal checkpoint, so it would report the leftover as a running migration. Only a writable open does it;
   * a read-only one is no writer's, and whoever peeks would get the same answer from opening the volume.
   */
  private void clearLeftoverCheckpoint() throws IOException {
    RegionDirectory.Entry chk = regions.find(RegionDirectory.TAG_CHECKPOINT);
    if (readOnlyReason != null || chk == null) {
      return;
    }
    byte[] a = journal.readRaw(chk.start());
    byte[] b = journal.readRaw(chk.start() + 1);
    if (Bytes.isZero(a, 0, a.length) && Bytes.isZero(b, 0, b.length)) {
      return;
    }
    dev.write(chk.start() * blockSize, ByteBuffer.wrap(new byte[2 * blockSize]));
    dev.sync();
  }

  /**
   * Why checkpoint {@code c}, whose table location matches the region directory, still cannot describe this
   * volume; null when it can. A record is checked by its own checksum, not against the volume: one whose sizes
   * do not fit the blocks or whose layouts do not convert into each other would make the migration target, built
   * from it at every open, fail with an arithmetic or argument error instead of a report.
   */
  private String checkpointMismatch(MigrationCheckpoint c, RegionDirectory.Entry inom) {
    int payload = BlockCodec.payloadSize(blockSize);
    for (InodeLayout l : List.of(c.originalLayout(), c.targetLayout())) {
      if (l.inodeSize() > payload) {
        return "inodes of " + l.inodeSize() + " bytes do not fit " + blockSize + "-byte blocks";
      }
    }
    for (InodeLayout.Field f : c.originalLayout().fields()) {
      InodeLayout.Field g = c.targetLayout().fieldFor(f.moduleId());
      // The converter drops a field the target lacks, and the swap would make the loss the volume's format.
      if (g == null) {
        return "its target layout has no field for module " + f.moduleId() + ", which the original has";
      }
      if (g.size() != f.size()) {
        return "module " + f.moduleId() + "'s field has " + f.size() + " bytes before and " + g.size() + " after";
      }
    }
    InodeLayout current = inom != null ? c.originalLayout() : c.targetLayout();
    if (!current.equals(sb.layout())) {
      return "its " + (inom != null ? "original" : "target") + " layout " + current + " is not the volume's "
          + sb.layout();
    }
    String manifests = manifestMismatch(c, inom != null);
    if (manifests != null) {
      return manifests;
    }
    int ipb = InodeCodec.perBlock(blockSize, c.targetLayout().inodeSize());
    if (inom != null && (c.newTableBlocks() != inom.blocks() || c.newTableBlocks() * ipb < sb.inodeCount())) {
      return "its new table of " + c.newTableBlocks() + " blocks does not match region INOM of " + inom.blocks()
          + " blocks for " + sb.inodeCount() + " inodes";
    }
    if (c.totalInodes() > sb.inodeCount() || c.inodesMigrated() < 0 || c.inodesMigrated() > c.totalInodes()) {
      return c.inodesMigrated() + " of " + c.totalInodes() + " inodes copied, on a volume of " + sb.inodeCount();
    }
    return null;
  }

  /**
   * Why the manifests of checkpoint {@code c} do not describe this volume's migration; null when they do. The swap
   * installs the record's target manifest and layout as they are: a target that leaves out a module the volume
   * has, or a layout without the field its manifest needs, would be installed, and every inode would lose that
   * module's field with nothing left to report it.
   */
  private String manifestMismatch(MigrationCheckpoint c, boolean beforeSwap) {
    long inForce = beforeSwap ? c.originalManifest() : c.targetManifest();
    if (inForce != sb.moduleManifest()) {
      return String.format("its %s module manifest 0x%x is not the volume's 0x%x", beforeSwap ? "original" : "target",
          inForce, sb.moduleManifest());
    }
    if (c.targetModules() == 0 || (c.originalManifest() & c.targetModules()) != 0
        || c.targetManifest() != (c.originalManifest() | c.targetModules())) {
      return String.format("its module manifests do not add up: original 0x%x with modules 0x%x added is not its "
          + "target 0x%x", c.originalManifest(), c.targetModules(), c.targetManifest());
    }
    for (Module m : Module.fromManifest(c.targetManifest())) {
      InodeLayout.Field f = c.targetLayout().fieldFor(m);
      if (m.inodeBytes() > 0 && (f == null || f.size() != m.inodeBytes())) {
        return "its target layout " + (f == null ? "has no field for module " + m.displayName()
            : "gives module " + m.displayName() + " " + f.size() + " bytes, not " + m.inodeBytes());
      }
    }
    for (InodeLayout.Field f : c.targetLayout().fields()) {
      if (f.moduleId() < 0 || f.moduleId() >= 64 || (c.targetManifest() & 1L << f.moduleId()) == 0) {
        return "its target layout has a field for module " + f.moduleId() + ", which its target manifest lacks";
      }
    }
    return null;
  }

  /**
   * The watermark to reinstall: the recorded one, unless it lies inside a new-table block that no longer reads
   * back whole. Such a block held copied inodes below the watermark (durable when the record was written) and
   * the copier was rewriting it in place, outside the WAL, to add the inodes after them when the crash tore that
   * write. Its inodes are then taken as not yet copied: the old table has every change to them, the resumed
   * copy rewrites the block, and inode writes meanwhile do not read it.
   */
  private long trustedWatermark(MigrationCheckpoint c) throws IOException {
    long w = c.inodesMigrated();
    int ipb = InodeCodec.perBlock(blockSize, c.targetLayout().inodeSize());
    if (w % ipb == 0 || w / ipb >= c.newTableBlocks()) {
      return w;
    }
    return isWholeNewTableBlock(c, w / ipb) ? w : w / ipb * ipb;
  }

  private boolean isWholeNewTableBlock(MigrationCheckpoint c, long index) throws IOException {
    return MigrationTarget.isCopiedBlock(journal.readRaw(c.newTableStart() + index), index);
  }

  /**
   * Why the new-table block holding inode {@code w − 1}, for watermark {@code w} as {@link #trustedWatermark} left
   * it, is not one the copy wrote; null when it is. The copy syncs every block below a record's watermark before it
   * writes the record, and a watermark inside a block stands only when that block was found whole; so a block just
   * below a watermark at a block's start that does not read back whole, as the inode-table block of its index,
   * means a record that counts more than was copied (one re-sealed by a buggy or hostile writer, or a block since
   * lost). A resume from it would take the blocks in between as copied and the swap would install them: every inode
   * there gone. One block read per open of a volume with a pending migration; a record raised to a whole block
   * (a stale one from an earlier migration, say) is not caught.
   */
  private String unwrittenBelow(MigrationCheckpoint c, long w) throws IOException {
    int ipb = InodeCodec.perBlock(blockSize, c.targetLayout().inodeSize());
    if (w == 0 || w % ipb != 0) {
      return null;
    }
    long k = w / ipb - 1;
    if (isWholeNewTableBlock(c, k)) {
      return null;
    }
    return c.inodesMigrated() + " of " + c.totalInodes() + " inodes copied, but block " + (c.newTableStart() + k)
        + " of the new table, which holds inodes " + k * ipb + " to " + (w - 1) + ", was never written";
  }

  // ---------------------------------------------------------------- transactions

  Txn begin() throws IOException {
    checkWritable();
    if (!writerLock.isHeldByCurrentThread()) {
      throw new IllegalStateException("transaction outside the writer lock");
    }
    releaseCheckpointedFrees();
    return new Txn(this);
  }

  void checkWritable() throws IOException {
    if (readOnlyReason != null) {
      throw new VdeReadOnlyException("volume is read-only: " + readOnlyReason, resource);
    }
    if (journal.isFailed()) {
      journal.awaitDurable(Long.MAX_VALUE);
    }
  }

  /** Gives back what a transaction reserved; nothing it did becomes visible. */
  void abort(Txn t) {
    for (long[] r : t.reserved) {
      bitmap.unreserve(r[0], r[1]);
    }
    t.reserved.clear();
  }

  /**
   * Publishes a transaction and queues it for the WAL; returns its ticket (0 when it changed nothing). The
   * caller waits for durability with {@link Journal#awaitDurable} after releasing the writer lock's critical
   * section, or later for a batch.
   */
  /** Whether small unbatched transactions journal their data (see {@link #JOURNALED_DATA_BLOCKS}). */
  boolean journalsSmallData() {
    return (sb.compat() & Superblock.COMPAT_HOST_PREALLOCATED) == 0;
  }

  long commit(Txn t) throws IOException {
    if (t.isEmpty()) {
      return 0;
    }
    TreeSet<Integer> bitmapBlocks = new TreeSet<>();
    for (long[] r : t.reserved) {
      addBitmapBlocks(bitmapBlocks, r);
    }
    for (long[] r : t.freed) {
      addBitmapBlocks(bitmapBlocks, r);
    }
    int rdBlocks = t.regionsChanged ? t.sb.regionDirBlocks() : 0;
    long need = WalCodec.blocksNeeded(blockSize, t.images.size() + t.dataImages.size() + bitmapBlocks.size()
        + rdBlocks + 1, t.checks.size(), WalCodec.checkRuns(t.checks));
    if (need > journal.walCapacity() && !t.dataImages.isEmpty()) {
      // Journaled data must not make a transaction too large for a small WAL: it goes in place, checked.
      for (BlockImage im : t.dataImages) {
        dev.write(im.blockNo() * blockSize, ByteBuffer.wrap(im.data()));
        t.checks.add(new DataCheck(im.blockNo(), BlockCodec.storedChecksum(im.data()),
            BlockCodec.storedGeneration(im.data())));
      }
      t.dataImages.clear();
      need = WalCodec.blocksNeeded(blockSize, t.images.size() + bitmapBlocks.size() + rdBlocks + 1,
          t.checks.size(), WalCodec.checkRuns(t.checks));
    }
    if (need > journal.walCapacity()) {
      abort(t);
      throw new VdeException("operation is too large for one metadata transaction (" + need
          + " WAL blocks, the WAL has " + journal.walCapacity() + "); split it into smaller ones", resource, null);
    }
    List<DataCheck> checks = t.checks;
    if (t.dataBlocks > DATA_SYNC_THRESHOLD) {
      journal.syncOutsideWal();
      checks = List.of();
    }
    // Everything that can fail happens before the in-memory state changes, so abort() can undo the rest.
    List<BlockImage> imgs = new ArrayList<>(t.dataImages.size() + t.images.size() + bitmapBlocks.size() + rdBlocks
        + 1);
    // Data first: the journal publishes in this order, so a data image is visible before what maps it.
    imgs.addAll(t.dataImages);
    if (t.regionsChanged || t.sb != sb) {
      String problem = regionDirectoryProblem(t.sb, t.regions);
      if (problem != null) {
        abort(t);
        throw new VdeInvalidArgumentException("a format change would leave a volume that no longer opens: "
            + problem);
      }
    }
    if (t.regionsChanged) {
      int room = RegionDirectory.entriesPerBlock(blockSize) * t.sb.regionDirBlocks();
      if (t.regions.entries().size() > room) {
        abort(t);
        throw new VdeException("region directory is full (" + room + " entries)", resource, null);
      }
      List<byte[]> rdb = t.regions.write(blockSize, t.sb.regionDirBlocks());
      for (int i = 0; i < rdb.size(); i++) {
        imgs.add(new BlockImage(t.sb.regionDirStart() + i, rdb.get(i)));
      }
    }
    for (var e : t.images.entrySet()) {
      Txn.Image im = e.getValue();
      BlockCodec.seal(im.data, im.type, im.generation);
      imgs.add(new BlockImage(e.getKey(), im.data));
    }
    RegionDirectory.Entry bmr = regions.find(RegionDirectory.TAG_BITMAP);
    stateLock.writeLock().lock();
    try {
      for (long[] r : t.reserved) {
        bitmap.publishAllocated(r[0], r[1]);
      }
      for (long[] r : t.freed) {
        bitmap.publishFreed(r[0], r[1]);
      }
      assert bitmap.checkInvariants() : "AllocationBitmap (3) violated";
      for (int idx : bitmapBlocks) {
        imgs.add(new BlockImage(bmr.start() + idx, bitmap.encodeBlock(idx)));
      }
      Superblock next = t.sb.withCounts(t.sb.inodesUsed(), bitmap.durableFree(), t.sb.inodeTableInitBlocks(),
          System.currentTimeMillis());
      byte[] sbImage = next.write();
      imgs.add(new BlockImage(0, sbImage));
      long ticket;
      try {
        checkReadable(sbImage);
        ticket = journal.commit(imgs, checks, t.held);
      } catch (IOException | RuntimeException e) {
        // The journal stopped after this transaction began (a WAL write failed in another thread), or the
        // superblock would not read back: nothing of it is published, so the durable bitmap goes back to the
        // published state, in reverse order; the caller's abort() then returns the reservations.
        for (long[] r : t.freed) {
          bitmap.publishAllocated(r[0], r[1]);
        }
        for (long[] r : t.reserved) {
          bitmap.publishFreed(r[0], r[1]);
        }
        throw e;
      }
      lastCommitNanos = System.nanoTime();
      sb = next;
      if (t.regionsChanged) {
        regions = t.regions;
      }
      for (ChangeTracker tracker : trackers) {
        for (long b : t.images.keySet()) {
          tracker.rewritten(b);
        }
      }
      for (long[] r : t.freed) {
        pendingFrees.add(new PendingFree(ticket, r[0], r[1]));
      }
      for (Runnable r : t.onPublish) {
        r.run();
      }
      return ticket;
    } finally {
      stateLock.writeLock().unlock();
    }
  }

  /**
   * Refuses a superblock image that its own reader refuses (a format change's field out of range, say). Recovery
   * treats a transaction whose superblock image does not read as not committed, and a checkpoint cannot write it:
   * acknowledged, it stopped the volume at the next checkpoint and was lost with every transaction after it.
   */
  private void checkReadable(byte[] sbImage) throws VdeInvalidArgumentException {
    try {
      Superblock.read(sbImage, 0, resource);
    } catch (VdeCorruptedException e) {
      throw new VdeInvalidArgumentException("a change would write a superblock that no checkpoint or open reads ("
          + e.getOriginalMessage() + "); nothing was changed");
    }
  }

  private void addBitmapBlocks(TreeSet<Integer> set, long[] run) {
    int a = bitmap.blockIndexOf(run[0]);
    int b = bitmap.blockIndexOf(run[0] + run[1] - 1);
    for (int i = a; i <= b; i++) {
      set.add(i);
    }
  }

  /**
   * Frees whose checkpoint has completed go back to the allocator (AllocationBitmap (2)), except those of
   * transactions newer than the oldest read pin, which may free blocks that pinned read still reads.
   */
  private void releaseCheckpointedFrees() {
    long upTo = Math.min(releasableUpTo.get(), oldestReadPin());
    PendingFree f;
    while ((f = pendingFrees.peek()) != null && f.ticket() <= upTo) {
      pendingFrees.poll();
      bitmap.release(f.start(), f.count());
      for (ChangeTracker tracker : trackers) {
        tracker.released(f.start(), f.count());
      }
    }
  }

  /**
   * Starts recording, for a copy that reads the volume while writers run, every block handed back to the
   * allocator and every metadata block a transaction gives new content (see {@link ChangeTracker}). The caller
   * holds the writer lock, as release and publish do, and ends it with {@link #stopTracking}.
   */
  public ChangeTracker startTracking() throws VdeException {
    if (!writerLock.isHeldByCurrentThread()) {
      throw new IllegalStateException("change tracking needs the writer lock");
    }
    ChangeTracker t = new ChangeTracker(superblock().totalBlocks());
    trackers.add(t);
    return t;
  }

  /** Ends one tracker of {@link #startTracking}; the caller holds the writer lock. */
  public void stopTracking(ChangeTracker t) {
    if (!writerLock.isHeldByCurrentThread()) {
      throw new IllegalStateException("change tracking needs the writer lock");
    }
    trackers.remove(t);
  }

  boolean hasUnreleasedFrees() {
    return !pendingFrees.isEmpty();
  }

  /**
   * The allocator's view (1 = not available) with the blocks freed but not yet released counted free: what a
   * plan that must not write (a module addition's pre-flight, the planner) may count on, since the transaction
   * that then allocates releases them when it runs short ({@link Txn#allocateFirstFit}). Planning on the
   * allocator's view alone refused, after a delete, room that the delete had just made. Only blocks that release
   * can hand out now are counted ({@link #reclaimableUpTo}); {@link #heldFreedSpaceNote} says why others are not.
   * Nor are blocks of a free that another file has taken since (a damaged extent freed blocks that were not in
   * use): release keeps those in use, and a plan counting them would be refused when it allocates.
   */
  public long[] plannableWords() throws VdeException {
    long[] words = bitmap.allocatableWordsCopy();
    long upTo = reclaimableUpTo();
    for (PendingFree f : pendingFrees) {
      if (f.ticket() <= upTo) {
        bitmap.releaseInto(words, f.start(), f.count());
      }
    }
    return words;
  }

  /**
   * The newest freeing transaction whose blocks {@link #reclaimFreedBlocks}, called now by this thread, would make
   * allocatable. A streaming read in progress holds back what was freed after it began. A batch holds the writer
   * lock throughout and its transactions back from the WAL until it ends, so a checkpoint from inside it (the
   * calling thread holds the lock) stops short of them; another thread's batch ends before the caller's
   * transaction can take the lock, so its frees count.
   */
  private long reclaimableUpTo() {
    long upTo = oldestReadPin();
    if (writerLock.isHeldByCurrentThread()) {
      upTo = Math.min(upTo, journal.checkpointableTicket());
    }
    return upTo;
  }

  /**
   * Why blocks freed since the last checkpoint are not yet reusable (a streaming read in progress, a batch not yet
   * ended), as a clause to append to a no-space message; empty when nothing holds them.
   */
  public String heldFreedSpaceNote() {
    long pin = oldestReadPin();
    long checkpointable = writerLock.isHeldByCurrentThread() ? journal.checkpointableTicket() : Long.MAX_VALUE;
    long byBatch = 0;
    long byRead = 0;
    for (PendingFree f : pendingFrees) {
      if (f.ticket() > checkpointable) {
        byBatch += f.count();
      } else if (f.ticket() > pin) {
        byRead += f.count();
      }
    }
    return (byRead > 0 ? "; " + byRead + " blocks freed while a streaming read is in progress become reusable when"
        + " it ends" : "")
        + (byBatch > 0 ? "; " + byBatch + " blocks freed inside the running batch become reusable once it ends" : "");
  }

  /**
   * Why a format change that allocates {@code runs} ({start, count} each) and otherwise writes only the region
   * directory (when it allocates) and the superblock cannot be one transaction of this volume's WAL, or null when
   * it can. Such a change is committed whole, so one larger than the WAL fails at commit, after its plan called it
   * feasible: plans that must not write (module additions, the planner, a migration's plan) ask here first.
   */
  public String formatChangeWalProblem(List<long[]> runs) {
    int bitmapBlocks = formatChangeBitmapBlocks(runs);
    int rdBlocks = runs.isEmpty() ? 0 : sb.regionDirBlocks();
    long need = formatChangeWalBlocks(runs);
    long have = journal.walCapacity();
    return need <= have ? null : "the change is one metadata transaction of " + need + " WAL blocks ("
        + bitmapBlocks + " bitmap, " + rdBlocks + " region-directory and 1 superblock image), more than the "
        + have + " blocks of the volume's WAL";
  }

  /**
   * The block images of a format change that allocates {@code runs} and otherwise writes only the region directory
   * (when it allocates) and the superblock: one for each bitmap block the runs touch, the directory's blocks, and
   * the superblock. The change writes each to the WAL and later in place.
   */
  public int formatChangeImages(List<long[]> runs) {
    return formatChangeBitmapBlocks(runs) + (runs.isEmpty() ? 0 : sb.regionDirBlocks()) + 1;
  }

  /** The WAL blocks of that change: its descriptors, its {@link #formatChangeImages} and its commit record. */
  public long formatChangeWalBlocks(List<long[]> runs) {
    return WalCodec.blocksNeeded(blockSize, formatChangeImages(runs), 0, 0);
  }

  private int formatChangeBitmapBlocks(List<long[]> runs) {
    TreeSet<Integer> bitmapBlocks = new TreeSet<>();
    for (long[] r : runs) {
      addBitmapBlocks(bitmapBlocks, r);
    }
    return bitmapBlocks.size();
  }

  /**
   * Pins the published state for a read that goes on after the state lock is let go (class comment, "read
   * pin"): until {@link #unpinRead} with the returned value, no block freed by a later transaction becomes
   * allocatable again. The caller holds the state lock's read side, so the state it saw is the one named.
   */
  long pinForRead() {
    if (stateLock.getReadHoldCount() == 0 && !stateLock.isWriteLockedByCurrentThread()) {
      throw new IllegalStateException("a read pin is taken under the state lock");
    }
    long seen = journal.lastTicket();
    synchronized (readPins) {
      readPins.merge(seen, 1, Integer::sum);
    }
    return seen;
  }

  /** Ends a pin taken by {@link #pinForRead}; the frees it held back become releasable at the next transaction. */
  void unpinRead(long pin) {
    synchronized (readPins) {
      readPins.computeIfPresent(pin, (k, n) -> n == 1 ? null : n - 1);
    }
  }

  /** The ticket of the oldest read pin held, or {@link Long#MAX_VALUE} when none is. */
  private long oldestReadPin() {
    synchronized (readPins) {
      return readPins.isEmpty() ? Long.MAX_VALUE : readPins.firstKey();
    }
  }

  /**
   * Indexes (within the bitmap region) of bitmap blocks that could not be read at a read-only open; the bitmap
   * holds all-allocated stand-ins for them, so what it says there is a guess.
   */
  public List<Long> unreadableBitmapBlocks() {
    return unreadableBitmapBlocks;
  }

  /**
   * Why any open of this volume that could write is read-only because the allocation bitmap marks metadata free,
   * or null: known to a read-only open too, whose own reason ("on request") hides it.
   */
  public String metadataMarkedFree() {
    return metadataMarkedFree;
  }

  /**
   * A note for a no-space error when streams in progress hold space: read pins keeping freed space from reuse, or
   * blocks reserved by streamed writes ("" when neither does).
   */
  String spaceHeldByStreams() {
    return spaceHeldByStreams(0);
  }

  /** As {@link #spaceHeldByStreams()}, for a streamed write that itself holds {@code own} reserved blocks. */
  String spaceHeldByStreams(long own) {
    long pin = oldestReadPin();
    long upTo = releasableUpTo.get();
    // Only frees a checkpoint has made releasable and a pin holds back: those a pin alone keeps from use.
    boolean held = pin != Long.MAX_VALUE && pendingFrees.stream().anyMatch(f -> f.ticket() > pin && f.ticket() <= upTo);
    String reads = held ? "; space freed while a streaming read is in progress becomes reusable when it ends" : "";
    long streams = streamReserved - own;
    // Inside a batch its own deletes cannot be reused before the batch is durable (AllocationBitmap (2)), so the
    // volume's free count, which already includes them, would otherwise contradict the error.
    long unsynced = pendingFrees.stream().filter(f -> f.ticket() > upTo).mapToLong(PendingFree::count).sum();
    return reads + (streams > 0 ? "; " + streams + " blocks are reserved by writes from " + (own > 0 ? "other " : "")
        + "streams still being read" : "")
        + (unsynced > 0 ? "; " + unsynced + " more blocks freed by operations not yet durable (a batch's own deletes"
            + " and replacements) become reusable once they are" : "");
  }

  /** Counts blocks reserved ({@code delta} > 0) or handed on or back by a {@link StreamedWrite}; writer lock. */
  void streamReserved(long delta) {
    streamReserved += delta;
  }

  /** Number of read pins held, for tests. */
  int readPinCount() {
    synchronized (readPins) {
      return readPins.values().stream().mapToInt(Integer::intValue).sum();
    }
  }

  /**
   * Reserves up to {@code max} contiguous blocks, preferring to start at {@code near}; returns {start, count}.
   * Freed-but-unreleased blocks are released by a forced checkpoint when nothing else is left. The caller holds
   * the writer lock and owns the reservation (a transaction publishes or returns it).
   */
  long[] reserveUpTo(long max, long near) throws IOException {
    long[] run = bitmap.reserveUpTo(max, near);
    if (run == null) {
      reclaimFreedBlocks();
      run = bitmap.reserveUpTo(max, near);
    }
    if (run == null) {
      throw new VdeNoSpaceException("no free blocks left on the volume" + spaceHeldByStreams());
    }
    return run;
  }

  /** Makes every pending free reusable by forcing a checkpoint; called when allocation runs dry. */
  void reclaimFreedBlocks() throws IOException {
    if (pendingFrees.isEmpty()) {
      return;
    }
    journal.checkpoint();
    releaseCheckpointedFrees();
  }

  // ---------------------------------------------------------------- accessors

  public Superblock superblock() {
    return sb;
  }

  /** The new inode table of the migration being run, or null. */
  public MigrationTarget migrationTarget() {
    return migrationTarget;
  }

  /** Installs or clears the migration target; the caller holds the writer lock. */
  public void setMigrationTarget(MigrationTarget m) {
    if (!writerLock.isHeldByCurrentThread()) {
      throw new IllegalStateException("migration target changes need the writer lock");
    }
    this.migrationTarget = m;
  }

  /**
   * The checkpoint of a pending migration found at open, or the newest durable one recorded since (a running copy's
   * record becomes this only once the sync after it has returned), or null.
   */
  public MigrationCheckpoint pendingMigration() {
    return pendingMigration;
  }

  public void setPendingMigration(MigrationCheckpoint c) {
    this.pendingMigration = c;
  }

  /**
   * Runs {@code r} holding the writer lock (other writers wait; readers continue). For operations that must
   * see a state no writer changes, such as a copy's point-in-time image or a migration batch.
   */
  public <T> T withWriterLock(IoSupplier<T> r) throws IOException {
    lockWriter();
    try {
      return r.get();
    } finally {
      writerLock.unlock();
    }
  }

  /** True when writers are waiting for the writer lock (the migration yields to them). */
  public boolean writersWaiting() {
    return writerLock.hasQueuedThreads();
  }

  /** {@link System#nanoTime} of the last transaction committed, for background work that yields to writers. */
  public long lastCommitNanos() {
    return lastCommitNanos;
  }

  public RegionDirectory regions() {
    return regions;
  }

  public AllocationBitmap bitmap() {
    return bitmap;
  }

  public Journal journal() {
    return journal;
  }

  public BlockDevice device() {
    return dev;
  }

  public int blockSize() {
    return blockSize;
  }

  /** Payload bytes per data block. */
  public int payload() {
    return blockSize - BlockCodec.TRAILER_SIZE;
  }

  public String resource() {
    return resource;
  }

  public String readOnlyReason() {
    return readOnlyReason;
  }

  public List<String> warnings() {
    return List.copyOf(warnings);
  }

  ReentrantLock writerLock() {
    return writerLock;
  }

  /** Takes the writer lock, after {@link #checkMayWaitForWriters}. */
  void lockWriter() throws VdeException {
    checkMayWaitForWriters();
    writerLock.lock();
    // A writer that queued behind close() would otherwise go on against the closed device and report its error,
    // which names no cause a caller can act on. Close itself holds the lock already (a count above one).
    if (closed && writerLock.getHoldCount() == 1) {
      writerLock.unlock();
      throw new VdeException("volume is closed", resource, null);
    }
  }

  /**
   * Refuses a call that would wait for writers on a thread that holds the state lock's read side: a callback of
   * a read that holds the state still (the {@code Progress} of {@code verify}, or of a copy's final pass). A
   * writer holding the writer lock waits at publish for that read to end, so this thread would wait for it and it
   * for this thread (or, were the writer lock this thread's, its own publish would wait for its own read): the
   * volume hung, every writer and reader behind it.
   */
  void checkMayWaitForWriters() throws VdeInvalidArgumentException {
    if (stateLock.getReadHoldCount() > 0) {
      throw new VdeInvalidArgumentException("the volume cannot be changed or closed from inside a read that holds "
          + "its state still (a Progress callback of verify or of a copy, say): it would wait for that read to "
          + "end; make the change after the call returns");
    }
  }

  ReentrantReadWriteLock stateLock() {
    return stateLock;
  }

  /** Reads one inode of the published state; the caller holds the state lock's read side or the writer lock. */
  public Inode readInode(long number) throws IOException {
    return inodes.read(null, number);
  }

  /** The entries of a directory in the published state; same locking as {@link #readInode}. */
  public List<DirectoryBlockCodec.Entry> readDirectory(long dirInode) throws IOException {
    return directories.get(dirInode).entries();
  }

  /** Block numbers of an inode's indirect extent chain, in chain order (empty when it has none). */
  public List<Long> extentChainBlocks(Inode ino) throws IOException {
    List<Long> out = new ArrayList<>();
    if (ino.extents().size() > Inode.INLINE_EXTENTS) {
      for (InodeStore.ChainBlock cb : inodes.chain(null, ino.indirectBlock(),
          ino.extents().size() - Inode.INLINE_EXTENTS, ino.number())) {
        out.add(cb.blockNo());
      }
    }
    return out;
  }

  /** Runs {@code r} with the published state held still (readers' side of the state lock). */
  public <T> T withStableState(IoSupplier<T> r) throws IOException {
    stateLock.readLock().lock();
    try {
      return r.get();
    } finally {
      stateLock.readLock().unlock();
    }
  }

  /**
   * Runs {@code r} with writers held off (writer lock) and the published state held still (state lock's read
   * side): nothing is reserved, published or freed meanwhile, so the bitmap and every block it marks stay put.
   */
  public <T> T withWritersPaused(IoSupplier<T> r) throws IOException {
    lockWriter();
    try {
      return withStableState(r);
    } finally {
      writerLock.unlock();
    }
  }

  /** A supplier that may throw I/O errors. */
  @FunctionalInterface
  public interface IoSupplier<T> {
    T get() throws IOException;
  }

  /**
   * True once the volume is being closed ({@link VirtualDisk#close}): background work on it that waits (a
   * paused or throttled migration) looks here, since nothing it could still do would reach the volume.
   */
  public boolean isClosed() {
    return closed;
  }

  void close() throws IOException {
    closed = true;
    journal.close();
  }
}
