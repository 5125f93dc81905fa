package dev.vde.module;

import dev.vde.VdeCorruptedException;
import dev.vde.VdeException;
import dev.vde.VdeFormatTooNewException;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.VdeNoSpaceException;
import dev.vde.VdeReadOnlyException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.InodeLayout;
import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.MigrationCheckpoint.Phase;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Salt;
import dev.vde.format.Superblock;
import dev.vde.fs.MigrationTarget;
import dev.vde.fs.VirtualDisk;
import dev.vde.fs.Volume;
import dev.vde.inode.InodeCodec;
import dev.vde.io.BlockDevice;
import dev.vde.io.PeekDevice;
import dev.vde.wal.SuperblockSlots;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.locks.LockSupport;

/**
 * Option 3: grow every inode online to make room for modules' fields, by copying the inode table into a new,
 * larger one while the volume stays in use, then switching to it atomically.
 *
 * <pre>
 *            start()                 copy batches            swap txn            complete txn
 *   IDLE ─────────────► ALLOCATING ─────────────► COPYING ──────────► SWAPPING ───────────► COMPLETE ─► IDLE
 *     (WAL txn: new table                 │  (record every N/3)     (WAL txn: region    (WAL txn: free old
 *      + regions + pending bit)           │                          directory, layout)   table, clear bit)
 *                                         │ rollback()
 *                                         ▼
 *                                    ROLLING_BACK ──(WAL txn: free new table, clear bit)──► IDLE
 * </pre>
 *
 * <h2>Protocol</h2>
 * (1) {@link #start} reserves a contiguous run for the new table (same inode count, new size) and the modules'
 * regions, and in ONE WAL transaction records it as region INOM, adds the module regions and sets the
 * superblock's incompat bit MIGRATION_PENDING; an ALLOCATING checkpoint is written and synced just before that
 * commit. (2) Batches of inodes are copied under the writer lock: old-table blocks are read, every inode
 * converted (InodeConverter), the new-table blocks written directly, and the watermark raised, by BatchCopier
 * (see {@link MigrationTarget} for why no foreground change is lost). The copy takes a position every N/3 inodes
 * (N = {@link MigrationOptions#checkpointEvery}, rounded down): it waits for the sync started at the position
 * before (CheckpointSyncs), which made that position's blocks durable, writes a record of that position without
 * syncing it, and starts a sync on the sync thread that makes the blocks copied so far and that record durable
 * while the copy goes on. So a record never counts blocks that are not durable, and is durable before the next
 * one is written. With N below 3, and after the first batch that ends a set time after the last position (so that
 * a throttled copy keeps its records current), the position's record is durable at once instead: the device is
 * synced (after the sync in flight), then the record of the position written and synced. (3) The swap is one WAL
 * transaction: the region directory's INOD entry points at the new table, the old table becomes region INOO, and
 * the superblock takes the target manifest, layout and inode size. The in-memory view switches when it is
 * published. (4) A later transaction frees INOO and clears the pending bit; the freed blocks are reusable only
 * after the next WAL checkpoint (AllocationBitmap (2)).
 *
 * <h2>Crash at each point</h2>
 * Before (1) commits: no pending bit, so the volume is as before and the checkpoint is a leftover that is
 * ignored (and zeroed by the next writable open, so that {@link #peek} does not report it). During (2): the old table is authoritative and complete (every foreground write goes there); open
 * reinstalls the target at the watermark of the newest durable record, whose blocks were synced before it was
 * written; it is at most two positions behind the last one passed, so {@link #resume} continues from there,
 * redoing at most N inodes. Before (3) commits: same as (2). After (3):
 * INOO exists and the pending bit is set, so {@link #resume} runs (4) only; rollback is refused. {@link
 * #rollback} before (3) frees INOM and the new regions and clears the bit in one transaction; it first writes a
 * ROLLING_BACK checkpoint so that a crash in between finishes the rollback rather than the copy.
 */
public final class InodeMigration {
  /** Largest number of new-table blocks copied while holding the writer lock. */
  static final int MAX_BATCH_BLOCKS = BatchCopier.MAX_BATCH_BLOCKS;
  /**
   * Most new-table bytes after which the copy takes a position before the next multiple of N/3 when the sync before
   * has already returned (and so the device is idle while the copy runs on); at most half of N/3 inodes. A
   * million-inode migration command waited about 0.1 s less (0.866 s against 0.957 s, medians of 8): in a fresh
   * JVM the first third of N is copied by code not yet compiled, and the device had nothing to write meanwhile.
   * Large enough that a sync's fixed cost (3.5 ms here) stays small beside the time it takes to write this much.
   */
  static final int EARLY_POSITION_BYTES = 8 << 20;
  /** Batch size while the foreground is busy and the migration yields to it. */
  static final int YIELD_BATCH_BLOCKS = 16;
  /** Longest pause before each batch while yielding, so the migration always keeps moving. */
  static final long YIELD_MAX_NANOS = 10_000_000L;
  /** A transaction committed this recently means the foreground is active. */
  static final long FOREGROUND_ACTIVE_NANOS = 2_000_000L;

  private static boolean foregroundBusy(Volume v) {
    return v.writersWaiting() || System.nanoTime() - v.lastCommitNanos() < FOREGROUND_ACTIVE_NANOS;
  }

  private InodeMigration() {}

  /** Whether a migration could start, and why not. Writes nothing. */
  public record Plan(boolean feasible, String reason, InodeLayout targetLayout, long newTableBlocks,
      long regionBlocks, long inodesToCopy, long oldTableBlocks) {}

  /**
   * Why this engine must not migrate a volume that uses features it does not know, or null. The target layout is
   * built from the modules this engine knows: the inode field of one it does not know would be dropped from every
   * inode while its manifest bit stayed.
   */
  static String unknownFeatures(Superblock sb) {
    long compat = sb.compat() & ~Superblock.KNOWN_COMPAT;
    long roCompat = sb.roCompat() & ~Superblock.KNOWN_RO_COMPAT;
    if (compat == 0 && roCompat == 0) {
      return null;
    }
    return String.format("volume uses features this engine does not know (compat bits 0x%016x, roCompat bits "
        + "0x%016x); a migration would drop their inode fields; add modules with the newer engine that wrote it",
        compat, roCompat);
  }

  /** The layout a migration adding {@code modules} to a volume with superblock {@code sb} converts to. */
  private static InodeLayout layoutFor(Superblock sb, List<Module> modules) {
    return InodeLayout.canonical(sb.moduleManifest() | Module.manifestOf(modules));
  }

  /** Plans adding {@code modules} by migration. */
  public static Plan plan(VirtualDisk disk, List<Module> modules) throws IOException {
    Volume v = disk.volume();
    Superblock sb = v.superblock();
    InodeLayout layout = layoutFor(sb, modules);
    long oldBlocks = v.regions().find(RegionDirectory.TAG_INODES).blocks();
    if (layout.inodeSize() > BlockCodec.payloadSize(sb.blockSize())) {
      return new Plan(false, "inodes of " + layout.inodeSize() + " bytes do not fit in " + sb.blockSize()
          + "-byte blocks", layout, 0, 0, 0, oldBlocks);
    }
    int ipb = InodeCodec.perBlock(sb.blockSize(), layout.inodeSize());
    long newBlocks = (sb.inodeCount() + ipb - 1) / ipb;
    long toCopy = inodesToCopy(v, sb);
    if ((sb.incompat() & Superblock.INCOMPAT_MIGRATION_PENDING) != 0) {
      return new Plan(false, "another inode migration is pending", layout, newBlocks, 0, toCopy, oldBlocks);
    }
    String unknown = unknownFeatures(sb);
    if (unknown != null) {
      return new Plan(false, unknown, layout, newBlocks, 0, toCopy, oldBlocks);
    }
    List<Module> withTable = new ArrayList<>();
    withTable.addAll(modules);
    long[] words = v.plannableWords();
    long s = dev.vde.alloc.FreeSpaceScanner.firstFreeRun(words, sb.totalBlocks(), newBlocks, 0);
    if (s < 0) {
      return new Plan(false, "not enough contiguous free space for the new inode table: it needs " + newBlocks
          + " blocks, the largest free run is " + dev.vde.alloc.FreeSpaceScanner.largestFreeRun(words,
          sb.totalBlocks()) + " blocks" + v.heldFreedSpaceNote(), layout, newBlocks, 0, toCopy, oldBlocks);
    }
    dev.vde.alloc.FreeSpaceScanner.setRange(words, s, newBlocks, true);
    RegionPlan rp = RegionPlan.plan(words, sb.totalBlocks(), withTable);
    if (!rp.feasible()) {
      return new Plan(false, "no contiguous free run for region " + rp.failedRegion() + " next to the new inode "
          + "table" + v.heldFreedSpaceNote(), layout, newBlocks, rp.neededBlocks(), toCopy, oldBlocks);
    }
    // The start allocates the table and the regions in one transaction, which must fit in the WAL.
    List<long[]> runs = new ArrayList<>(rp.runs());
    runs.add(new long[] {s, newBlocks});
    String wal = v.formatChangeWalProblem(runs);
    if (wal != null) {
      return new Plan(false, "the start of the migration does not fit in the WAL: " + wal, layout, newBlocks,
          rp.neededBlocks(), toCopy, oldBlocks);
    }
    return new Plan(true, null, layout, newBlocks, rp.neededBlocks(), toCopy, oldBlocks);
  }

  private static long inodesToCopy(Volume v, Superblock sb) {
    return BatchCopier.inodesToCopy(sb);
  }

  /**
   * The pending migration's last durable checkpoint (a running copy's newest record counts once the sync after it
   * has returned), or null when none is pending.
   */
  public static MigrationCheckpoint status(VirtualDisk disk) {
    Volume v = disk.volume();
    if ((v.superblock().incompat() & Superblock.INCOMPAT_MIGRATION_PENDING) == 0) {
      return null;
    }
    return v.pendingMigration();
  }

  /**
   * The last checkpoint of a migration in the image at {@code image}, read without opening the volume or taking
   * its lock: for watching a migration that another process runs. Checkpoint records are written in place, each
   * with its own checksum, and the newest valid one of the two slots is taken, so a record being rewritten at that
   * moment yields the one before it. The blocks a record counts are durable before it is written, but while the
   * copy runs the record itself is made durable by the sync after it (DESIGN.md section 5), so a crash may take
   * the migration back to the record before, a third of the interval earlier. Null when no migration checkpoint
   * is there (none started, or the last one completed or was rolled back). A start whose transaction failed in the WAL leaves a record that this
   * returns until the next writable open, whose recovery decides whether that migration exists. Refused for an image this process has open: use {@link #status}.
   */
  public static MigrationCheckpoint peek(java.nio.file.Path image) throws IOException {
    try (PeekDevice peek = PeekDevice.open(image)) {
      SuperblockSlots.Loaded loaded = SuperblockSlots.load(peek);
      Superblock sb = loaded.superblock();
      int bs = sb.blockSize();
      List<byte[]> rdBlocks = new ArrayList<>();
      for (int i = 0; i < sb.regionDirBlocks(); i++) {
        rdBlocks.add(readBlock(peek, sb.regionDirStart() + i, bs));
      }
      for (int i = 0; i < rdBlocks.size(); i++) {
        BlockCodec.verify(rdBlocks.get(i), sb.regionDirStart() + i,
            BlockType.REGION_DIRECTORY, peek.describe());
      }
      RegionDirectory rd = RegionDirectory.read(rdBlocks, sb.regionDirStart(), peek.describe());
      // Held to what an open holds it to: the MCHK entry names the blocks read next, and one outside the volume
      // was read as zeros (reported as no migration) or, before block 0, failed with the JDK's
      // IllegalArgumentException.
      List<String> problems = rd.problems(sb.totalBlocks(), sb.regionDirStart() + sb.regionDirBlocks());
      if (!problems.isEmpty()) {
        throw new VdeCorruptedException(sb.regionDirStart(), BlockType.REGION_DIRECTORY.structure(),
            String.join("; ", problems), peek.describe());
      }
      RegionDirectory.Entry chk = rd.find(RegionDirectory.TAG_CHECKPOINT);
      if (chk == null) {
        return null;
      }
      return MigrationCheckpoint.newest(readBlock(peek, chk.start(), bs), readBlock(peek, chk.start() + 1, bs),
          chk.start(), peek.describe());
    }
  }

  private static byte[] readBlock(BlockDevice dev, long blockNo, int bs) throws IOException {
    byte[] b = new byte[bs];
    dev.read(blockNo * bs, ByteBuffer.wrap(b));
    return b;
  }

  /**
   * A migration waits for its own transactions to be durable before each checkpoint record; inside
   * {@link VirtualDisk#batch} those transactions are held back until the batch ends, so it would wait forever.
   */
  private static void refuseInsideBatch(VirtualDisk disk) throws VdeInvalidArgumentException {
    if (disk.isInBatch()) {
      throw new VdeInvalidArgumentException("an inode migration cannot run inside VirtualDisk.batch: it waits for "
          + "its transactions to be durable, which the batch holds back until it ends");
    }
  }

  /**
   * Refuses to run a migration on a read-only volume before anything is written. The copy and the checkpoint
   * records go straight to the device, not through a transaction, so the read-only check of transactions came only
   * at the swap or the rollback's transaction: a host file opened read-only failed with the JDK's
   * NonWritableChannelException, and a writable device under a read-only volume (one kept read-only for its WAL
   * damage, say) was written to, a rollback leaving a ROLLING_BACK record that no resume would continue.
   */
  private static void refuseReadOnly(VirtualDisk disk) throws VdeReadOnlyException {
    if (disk.isReadOnly()) {
      throw new VdeReadOnlyException("volume is read-only: " + disk.readOnlyReason() + "; an inode migration can "
          + "be started, resumed or rolled back only on a volume opened writable", disk.volume().resource());
    }
  }

  /** True when a migration is pending (even one whose checkpoint is unreadable). */
  public static boolean isPending(VirtualDisk disk) {
    return (disk.volume().superblock().incompat() & Superblock.INCOMPAT_MIGRATION_PENDING) != 0;
  }

  /**
   * Adds {@code modules} by growing every inode, online. Returns when the migration completed or was
   * cancelled (then it stays pending and {@link #resume} continues it). If a migration with the same target is
   * pending, resumes it (refused, as {@link #resume} says, while another call of this process runs it); a different
   * one is refused.
   */
  public static MigrationResult start(VirtualDisk disk, List<Module> modules, MigrationOptions opts)
      throws IOException {
    refuseInsideBatch(disk);
    refuseReadOnly(disk);
    Volume v = disk.volume();
    if (isPending(disk)) {
      MigrationCheckpoint c = v.pendingMigration();
      if (c != null && c.targetModules() == Module.manifestOf(modules)) {
        return resume(disk, opts);
      }
      throw new VdeInvalidArgumentException("another inode migration is pending" + (c == null ? ""
          : " (adding " + describe(c.targetModules()) + ", " + c.inodesMigrated() + " of " + c.totalInodes()
          + " inodes copied)") + "; finish it with 'vde migrate resume' or undo it with 'vde migrate rollback'");
    }
    InPlaceAddition.checkInactive(v.superblock(), modules);
    String unknown = unknownFeatures(v.superblock());
    if (unknown != null) {
      throw new VdeFormatTooNewException(unknown, v.resource());
    }
    Plan early = plan(disk, modules);
    if (!early.feasible()) {
      throw refusal(early, v.blockSize());
    }
    long id = Salt.next();
    long startSeq = nextSequence(v);
    MigrationCheckpoint started = disk.changeFormat(tx -> {
      Superblock sb = tx.superblock();
      if ((sb.incompat() & Superblock.INCOMPAT_MIGRATION_PENDING) != 0) {
        throw new VdeInvalidArgumentException("another inode migration started meanwhile");
      }
      InPlaceAddition.checkInactive(sb, modules);
      // The plan above was made before this transaction held the writer lock. If another module was added in
      // between (a padding claim, say), its layout lacks that module's field, and converting by it would drop
      // the field from every inode: plan again on what is now published (this transaction has changed nothing).
      Plan plan = layoutFor(sb, modules).equals(early.targetLayout()) ? early : plan(disk, modules);
      if (!plan.feasible()) {
        throw refusal(plan, sb.blockSize());
      }
      // The plan placed the table and the regions on free space that includes blocks freed since the last
      // checkpoint; allocating first-fit without them, the table could take the run the plan kept for a region.
      tx.reclaimFreedBlocks();
      long start = tx.allocateContiguous(plan.newTableBlocks());
      RegionDirectory rd = tx.regions().with(
          new RegionDirectory.Entry(RegionDirectory.TAG_INODES_NEW, 0, start, plan.newTableBlocks()));
      for (Module m : modules) {
        for (Module.Region r : m.regions()) {
          long n = r.blocksFor(sb.totalBlocks());
          rd = rd.with(RegionDirectory.Entry.forModule(m, r, tx.allocateContiguous(n), n));
        }
      }
      tx.setRegions(rd);
      tx.setSuperblock(sb.withIncompat(sb.incompat() | Superblock.INCOMPAT_MIGRATION_PENDING));
      RegionDirectory.Entry old = rd.find(RegionDirectory.TAG_INODES);
      long now = System.currentTimeMillis();
      long target = sb.moduleManifest() | Module.manifestOf(modules);
      MigrationCheckpoint c = new MigrationCheckpoint(Phase.ALLOCATING, id, startSeq, Module.manifestOf(modules),
          sb.moduleManifest(), target, sb.layout(), plan.targetLayout(), inodesToCopy(v, sb), 0, old.start(),
          old.blocks(), start, plan.newTableBlocks(), now, now, opts.checkpointEvery());
      // Written and synced before the WAL commit: once the pending bit is durable, a checkpoint describes it. It
      // becomes the pending migration only with the commit (onPublish): were this transaction to fail, it would
      // otherwise name a migration that does not exist.
      try {
        writeRecord(v, c);
      } catch (IOException | RuntimeException | Error e) {
        // This transaction will not commit, so the record only describes a migration that never started; left
        // in place it would be what 'vde migrate status' reads from another process (see clearAbandonedRecord).
        clearAbandonedRecord(v, e);
        throw e;
      }
      MigrationTarget mt = new MigrationTarget(start, plan.newTableBlocks(), sb.layout(), plan.targetLayout(),
          sb.blockSize(), 0);
      tx.onPublish(() -> {
        v.setMigrationTarget(mt);
        v.setPendingMigration(c);
      });
      return c;
    });
    MigrationCheckpoint copying = started.with(Phase.COPYING_INODES, 0, started.totalInodes(),
        System.currentTimeMillis());
    recordWhileRunning(v, copying);
    return run(disk, copying, opts);
  }

  /**
   * Why {@code start} refuses an infeasible plan. Lack of room is what a copy into a new volume solves; inodes larger
   * than a block are not: the copy keeps the block size, so pointing at it would only lead to a second refusal.
   */
  private static VdeException refusal(Plan plan, int blockSize) {
    if (plan.targetLayout().inodeSize() > BlockCodec.payloadSize(blockSize)) {
      return new VdeInvalidArgumentException(plan.reason() + " (they hold at most " + BlockCodec.payloadSize(blockSize)
          + " bytes of inodes); a copy keeps the block size too, so only a volume created with larger blocks can "
          + "hold these modules");
    }
    return new VdeNoSpaceException(plan.reason() + "; add the module with --option copy instead, which writes a new "
        + "volume with the module", true);
  }

  /**
   * Continues a pending migration from its last durable checkpoint. Before its swap it is refused with
   * {@link VdeInvalidArgumentException} while another call of this process is running it: wait for that call, or
   * pause or cancel it.
   */
  public static MigrationResult resume(VirtualDisk disk, MigrationOptions opts) throws IOException {
    refuseInsideBatch(disk);
    refuseReadOnly(disk);
    Volume v = disk.volume();
    if (!isPending(disk)) {
      throw new VdeInvalidArgumentException("no inode migration is pending on this volume");
    }
    MigrationCheckpoint c = v.pendingMigration();
    RegionDirectory rd = v.regions();
    if (rd.find(RegionDirectory.TAG_INODES_OLD) != null) {
      // The swap committed: only freeing the old table is left, which needs no record (there may be none left:
      // both record blocks damaged, or cleared by an engine whose format changes could return before durable).
      long t0 = System.currentTimeMillis();
      long n0 = System.nanoTime();
      long before = c != null ? c.totalInodes() : v.superblock().inodesUsed();
      // Every inode was copied before the swap; a display still hears where this run starts and that it ended.
      Reports reports = new Reports(opts, before, n0);
      reports.start(Phase.SWAPPING_REGIONS, before, before);
      complete(disk, c);
      Superblock sb = v.superblock();
      long total = c != null ? c.totalInodes() : sb.inodesUsed();
      reports.report(Phase.COMPLETE, total, total);
      return new MigrationResult(c != null ? c.migrationId() : 0, total, 0, System.currentTimeMillis() - t0,
          c != null ? c.targetLayout() : sb.layout(), false);
    }
    if (c == null) {
      throw new VdeException("the pending migration's checkpoint is unreadable, so it cannot be resumed; undo it "
          + "with 'vde migrate rollback'");
    }
    if (c.phase() == Phase.ROLLING_BACK) {
      throw new VdeInvalidArgumentException("the pending migration was being rolled back; finish that with "
          + "'vde migrate rollback'");
    }
    v.withWriterLock(() -> {
      if (v.migrationTarget() == null) {
        v.setMigrationTarget(new MigrationTarget(c.newTableStart(), c.newTableBlocks(), c.originalLayout(),
            c.targetLayout(), v.blockSize(), c.inodesMigrated()));
      }
      return null;
    });
    return run(disk, c, opts);
  }

  /**
   * Undoes a pending migration that has not swapped yet: frees the new table and the new modules' regions and
   * clears the pending bit, returning the volume exactly to its original format.
   */
  public static void rollback(VirtualDisk disk) throws IOException {
    refuseInsideBatch(disk);
    refuseReadOnly(disk);
    Volume v = disk.volume();
    v.withWriterLock(() -> {
      // Decided under the writer lock, which the swap holds: a rollback that waited for it behind a running
      // migration's swap must see that the swap committed, not undo a pending bit the migration still needs.
      if (!isPending(disk)) {
        throw new VdeInvalidArgumentException("no inode migration is pending on this volume");
      }
      if (v.regions().find(RegionDirectory.TAG_INODES_OLD) != null) {
        throw new VdeInvalidArgumentException("the migration already completed (its region swap committed) and "
            + "cannot be rolled back; run 'vde migrate resume' to finish freeing the old inode table");
      }
      MigrationCheckpoint c = v.pendingMigration();
      if (c != null) {
        writeCheckpoint(v, c.with(Phase.ROLLING_BACK, c.inodesMigrated(), c.totalInodes(),
            System.currentTimeMillis()));
      }
      // Only once the ROLLING_BACK record is durable: should it fail, the migration stays resumable, and a resume
      // trusts the new table below the recorded watermark, so every inode write until then must still reach it.
      v.setMigrationTarget(null);
      disk.changeFormat(tx -> {
        Superblock sb = tx.superblock();
        RegionDirectory rd = tx.regions();
        RegionDirectory.Entry inom = rd.find(RegionDirectory.TAG_INODES_NEW);
        if (inom != null) {
          tx.free(inom.start(), inom.blocks());
          rd = rd.without(RegionDirectory.TAG_INODES_NEW);
        }
        for (RegionDirectory.Entry e : tx.regions().entries()) {
          if (e.isModuleRegion() && (sb.moduleManifest() & (1L << e.moduleId())) == 0) {
            tx.free(e.start(), e.blocks());
            rd = rd.withoutModule(e.moduleId());
          }
        }
        tx.setRegions(rd);
        tx.setSuperblock(sb.withIncompat(sb.incompat() & ~Superblock.INCOMPAT_MIGRATION_PENDING));
        return null;
      });
      clearCheckpoint(v);
      return null;
    });
  }

  // ------------------------------------------------------------------ the copy

  /**
   * The migrations a call of this process is running, by volume and migration id, and the thread running each. A
   * run keeps its own chain of records, each written into the slot that does not hold the newest record it knows
   * (which is durable); two runs of one migration side by side (a resume from another thread) would each write
   * over the slot holding the other's newest durable record while the other slot held a record not yet synced, so
   * a crash could leave no readable record. (A run of a migration rolled back meanwhile may still be on its way
   * out when another starts: it writes nothing more, see requireTarget.) Volume keeps Object's identity.
   */
  private static final Map<Volume, Map<Long, Thread>> RUNNING = new WeakHashMap<>();

  private static MigrationResult run(VirtualDisk disk, MigrationCheckpoint c, MigrationOptions opts)
      throws IOException {
    Volume v = disk.volume();
    synchronized (RUNNING) {
      Map<Long, Thread> here = RUNNING.computeIfAbsent(v, k -> new HashMap<>());
      Thread other = here.get(c.migrationId());
      if (other != null) {
        throw new VdeInvalidArgumentException("the inode migration is already running in this process (thread '"
            + other.getName() + "'); wait for that call to return, or pause or cancel it with its MigrationControl");
      }
      here.put(c.migrationId(), Thread.currentThread());
    }
    try (CheckpointSyncs syncs = new CheckpointSyncs()) {
      recopyFromFirstDamagedBlock(v, c);
      try (OldTableWarmer warmer = warmerFor(v, opts.control()).start()) {
        return run(disk, c, opts, new BatchCopier(), syncs);
      }
    } finally {
      synchronized (RUNNING) {
        Map<Long, Thread> here = RUNNING.get(v);
        here.remove(c.migrationId());
        if (here.isEmpty()) {
          RUNNING.remove(v);
        }
      }
    }
  }

  /**
   * Reads the old table ahead of the copy while the copy runs at full speed (OldTableWarmer): the old table is the
   * one the volume's superblock describes until the swap, and the copier is at the block holding the watermark.
   */
  private static OldTableWarmer warmerFor(Volume v, MigrationControl ctl) {
    Superblock sb = v.superblock();
    int ipbOld = InodeCodec.perBlock(sb.blockSize(), sb.inodeSize());
    RegionDirectory.Entry old = v.regions().find(RegionDirectory.TAG_INODES);
    long blocks = old == null ? 0 : Math.min(old.blocks(), sb.inodeTableInitBlocks());
    return new OldTableWarmer(v.device(), old == null ? 0 : old.start(), blocks, sb.blockSize(), () -> {
      MigrationTarget t = v.migrationTarget();
      // No target: the copy is over (swapped, or rolled back by another thread), and so is the warming.
      return t == null ? Long.MAX_VALUE : t.watermark() / ipbOld;
    }, () -> ctl.throttle.rate() == 0 && !ctl.isPaused() && !(ctl.yieldToForeground() && foregroundBusy(v)));
  }

  /**
   * Reads back every new-table block below the watermark a run starts from (written by an earlier run, before a
   * crash, a cancel or a close) and, at the first one that is not as the copy wrote it, lowers the watermark to that
   * block's start, so that this run copies it and everything after it again from the old table. The swap trusts
   * the new table below the watermark and frees the old one; a block damaged since it was copied (the records
   * and their checksums cannot tell) would have been installed as it was, every inode in it lost. Lowering is
   * always safe: the old table holds every inode's current record (inode writes below the watermark go to both
   * tables), and the records a crash leaves still name the higher watermark, so the next resume reads back and
   * lowers again. Runs after this run is registered, so no other run of the migration moves the watermark
   * meanwhile; without the writer lock until it lowers, since inode writes only ever leave whole blocks. One read
   * of the copied part of the new table per resume (a start has none).
   */
  private static void recopyFromFirstDamagedBlock(Volume v, MigrationCheckpoint c) throws IOException {
    MigrationTarget t = requireTarget(v, c);
    int ipb = t.perBlock();
    long blocks = (t.watermark() + ipb - 1) / ipb;
    for (long k = 0; k < blocks; k++) {
      if (k % 4096 == 0) {
        stopIfClosed(v);
      }
      if (!MigrationTarget.isCopiedBlock(v.journal().readRaw(t.newTableStart() + k), k)) {
        long lowered = k * ipb;
        v.withWriterLock(() -> {
          MigrationTarget now = requireTarget(v, c);
          if (now.watermark() > lowered) {
            v.setMigrationTarget(new MigrationTarget(now.newTableStart(), now.newTableBlocks(), c.originalLayout(),
                c.targetLayout(), v.blockSize(), lowered));
          }
          return null;
        });
        return;
      }
    }
  }

  private static MigrationResult run(VirtualDisk disk, MigrationCheckpoint c, MigrationOptions opts,
      BatchCopier copier, CheckpointSyncs syncs) throws IOException {
    Volume v = disk.volume();
    MigrationControl ctl = opts.control();
    // Positions every third of N: a record is written one position after the blocks it counts and is durable one
    // position later (CheckpointSyncs), so a crash redoes at most three steps, N inodes. Below 3 there is no
    // third, and each record is synced before the copy goes on, one position per N.
    boolean pipelined = opts.checkpointEvery() >= 3;
    long n = pipelined ? opts.checkpointEvery() / 3 : opts.checkpointEvery();
    long t0 = System.nanoTime();
    long startW = requireTarget(v, c).watermark();
    // Before the first batch, which a short resume may also make its last: a display shows where the run begins.
    Reports reports = new Reports(opts, startW, t0);
    reports.start(Phase.COPYING_INODES, Math.max(startW, inodesToCopy(v, v.superblock())), startW);
    // A resume may use another interval than the run that wrote c; every record it writes says which one it uses.
    MigrationCheckpoint ck = c.withCheckpointInterval(opts.checkpointEvery());
    long maxGap = opts.maxNanosBetweenCheckpoints();
    long lastCheckpoint = System.nanoTime();
    long lastPosition = ck.inodesMigrated();
    long earlyInodes = Math.max(1, Math.min(n / 2,
        (long) (EARLY_POSITION_BYTES / v.blockSize()) * requireTarget(v, c).perBlock()));
    // The newest record written, until the sync after it returns; the volume's pending migration stays the last
    // durable one meanwhile, and anyone writing a record (a rollback from another thread) overwrites this one.
    MigrationCheckpoint unconfirmed = null;
    while (true) {
      while (ctl.isPaused() && !ctl.isCancelled()) {
        stopIfClosed(v);
        if (Thread.currentThread().isInterrupted()) {
          // The park below would return at once, a busy loop until unpaused.
          throw new java.io.InterruptedIOException("inode migration interrupted while paused; it stays pending: "
              + "resume it");
        }
        LockSupport.parkNanos(20_000_000L);
      }
      stopIfClosed(v);
      MigrationTarget tgt = requireTarget(v, c);
      long w = tgt.watermark();
      if (ctl.isCancelled()) {
        syncs.await();
        confirm(v, c, unconfirmed);
        ck = durableCheckpoint(v, ck, w, inodesToCopy(v, v.superblock()));
        return new MigrationResult(c.migrationId(), ck.totalInodes(), w - startW, elapsedMs(t0), c.targetLayout(),
            true);
      }
      boolean busy = ctl.yieldToForeground() && foregroundBusy(v);
      if (busy) {
        // Back off while the foreground writes, as md's resync drops to its minimum speed when the array is
        // busy: a short pause, then a small batch, so the copy still advances but leaves the device (and the
        // syncs, which flush the copier's writes too) mostly to the foreground.
        long until = System.nanoTime() + YIELD_MAX_NANOS;
        while (foregroundBusy(v) && System.nanoTime() < until && !ctl.isCancelled() && !ctl.isPaused()) {
          LockSupport.parkNanos(500_000L);
        }
      }
      long batchBlocks = ctl.throttle.suggestedBatch(busy ? YIELD_BATCH_BLOCKS : MAX_BATCH_BLOCKS);
      // Pause and cancel are looked at again once the lock is held: asked for while the copy backed off or waited
      // for the foreground's writer lock, they came after the check at the top and let one more batch run.
      long[] res = v.withWriterLock(() -> ctl.isPaused() || ctl.isCancelled() ? null
          : copier.copyBatch(v, requireTarget(v, c), n, batchBlocks));
      if (res == null) {
        continue;
      }
      long newW = res[0];
      long total = res[1];
      // A cancel or pause ends the wait: at a lowered limit a batch taken at the old one may cost minutes.
      ctl.throttle.acquire(res[2], () -> ctl.isCancelled() || ctl.isPaused() || v.isClosed());
      if (newW >= total) {
        break;
      }
      // By count: every position crossed (a batch ends at the next one). By time: a slow (throttled, yielding)
      // copy still checkpoints at least every maxGap, which only adds positions and so keeps the count bound; its
      // record is durable at once, as such a copy has time to wait for the sync and its reader (`vde migrate
      // status`) wants it current.
      boolean byCount = newW / n > w / n;
      // Early: the sync before has returned, so taking the position costs the copy no wait, and starts the device
      // on what the copy wrote since instead of leaving it idle until the next multiple. Only adds positions.
      boolean early = pipelined && !byCount && newW - lastPosition >= earlyInodes && syncs.isDone();
      if (byCount || early || (newW > lastPosition && System.nanoTime() - lastCheckpoint >= maxGap)) {
        if (pipelined && (byCount || early)) {
          long synced = syncs.await();
          confirm(v, c, unconfirmed);
          unconfirmed = null;
          if (synced >= 0) {
            ck = unsyncedCheckpoint(v, c, ck, synced, total);
            unconfirmed = ck;
          }
          syncs.start(v, newW);
        } else {
          syncs.await();
          confirm(v, c, unconfirmed);
          unconfirmed = null;
          ck = durableCheckpoint(v, ck, newW, total);
        }
        lastPosition = newW;
        lastCheckpoint = System.nanoTime();
      }
      // Every batch: listeners that draw bars throttle themselves; tests use it to interleave foreground work.
      reports.report(Phase.COPYING_INODES, total, newW);
    }
    // Outside the writer lock, which the final copy holds: the sync in flight may be waiting for a commit.
    syncs.await();
    confirm(v, c, unconfirmed);
    MigrationCheckpoint last = ck;
    long migrated = v.withWriterLock(() -> {
      long total;
      while (true) {
        long[] res = copier.copyBatch(v, requireTarget(v, c), Long.MAX_VALUE, MAX_BATCH_BLOCKS);
        total = res[1];
        if (res[0] >= total) {
          break;
        }
      }
      MigrationCheckpoint sw = durableCheckpoint(v, last, total, total).with(Phase.SWAPPING_REGIONS, total, total,
          System.currentTimeMillis());
      writeCheckpoint(v, sw);
      long finalTotal = total;
      disk.changeFormat(tx -> {
        Superblock sb = tx.superblock();
        RegionDirectory rd = tx.regions();
        RegionDirectory.Entry old = rd.find(RegionDirectory.TAG_INODES);
        RegionDirectory.Entry inom = rd.find(RegionDirectory.TAG_INODES_NEW);
        rd = rd.replacing(RegionDirectory.TAG_INODES,
            new RegionDirectory.Entry(RegionDirectory.TAG_INODES, 0, inom.start(), inom.blocks()))
            .without(RegionDirectory.TAG_INODES_NEW)
            .with(new RegionDirectory.Entry(RegionDirectory.TAG_INODES_OLD, 0, old.start(), old.blocks()));
        tx.setRegions(rd);
        int ipbNew = InodeCodec.perBlock(sb.blockSize(), c.targetLayout().inodeSize());
        long init = (finalTotal + ipbNew - 1) / ipbNew;
        tx.setSuperblock(sb.withManifest(c.targetManifest(), c.targetLayout()).withInodeTable(sb.inodeCount(), init));
        tx.onPublish(() -> v.setMigrationTarget(null));
        return null;
      });
      return total;
    });
    // Reported outside the writer lock: a listener may wait for foreground writers.
    reports.report(Phase.SWAPPING_REGIONS, migrated, migrated);
    complete(disk, v.pendingMigration());
    reports.report(Phase.COMPLETE, migrated, migrated);
    return new MigrationResult(c.migrationId(), migrated, migrated - startW, elapsedMs(t0), c.targetLayout(), false);
  }

  /**
   * Ends the copy loop once the volume is closed: a paused migration otherwise waited for an unpause that could
   * do nothing but fail (the caller's thread did not come back), and a throttled one for its debt. The migration
   * stays pending, resumable from its last record after a reopen.
   */
  private static void stopIfClosed(Volume v) throws VdeException {
    if (v.isClosed()) {
      throw new VdeException("the volume was closed while the inode migration ran; it stays pending: reopen the "
          + "volume and resume it", v.resource(), null);
    }
  }

  /**
   * The target of the migration {@code c} describes, while that migration is still the pending one. The table's
   * start alone does not tell: a rollback from another thread followed by a new start of the same modules puts
   * the new table where the old one was, and a run that took that migration for its own copied into it, made its
   * own records (migration id, sequence) the volume's pending migration and swapped it.
   */
  private static MigrationTarget requireTarget(Volume v, MigrationCheckpoint c) throws VdeException {
    MigrationTarget t = v.migrationTarget();
    MigrationCheckpoint pending = v.pendingMigration();
    if (t == null || t.newTableStart() != c.newTableStart() || pending == null
        || pending.migrationId() != c.migrationId()) {
      throw new VdeException("the migration was rolled back or replaced while it ran");
    }
    return t;
  }

  /** Frees the old table and clears the pending bit (step 4), then clears the checkpoint. Idempotent. */
  private static void complete(VirtualDisk disk, MigrationCheckpoint c) throws IOException {
    Volume v = disk.volume();
    if (c != null) {
      writeCheckpoint(v, c.with(Phase.COMPLETE, c.totalInodes(), c.totalInodes(), System.currentTimeMillis()));
    }
    disk.changeFormat(tx -> {
      Superblock sb = tx.superblock();
      RegionDirectory rd = tx.regions();
      RegionDirectory.Entry old = rd.find(RegionDirectory.TAG_INODES_OLD);
      if (old != null) {
        tx.free(old.start(), old.blocks());
        tx.setRegions(rd.without(RegionDirectory.TAG_INODES_OLD));
      }
      tx.setSuperblock(sb.withIncompat(sb.incompat() & ~Superblock.INCOMPAT_MIGRATION_PENDING));
      return null;
    });
    clearCheckpoint(v);
  }

  /**
   * Writes a record of {@code watermark}, whose blocks a finished sync has made durable, without syncing it: the
   * next sync makes it durable (CheckpointSyncs). It goes into the other slot than {@code prev}, the newest record
   * written, which that finished sync has made durable; so a crash that tears this write leaves that one.
   */
  private static MigrationCheckpoint unsyncedCheckpoint(Volume v, MigrationCheckpoint running,
      MigrationCheckpoint prev, long watermark, long total) throws IOException {
    MigrationCheckpoint r = prev.with(Phase.COPYING_INODES, watermark, Math.max(total, watermark),
        System.currentTimeMillis());
    v.withWriterLock(() -> {
      // As recordWhileRunning: never a record after a rollback from another thread zeroed them.
      requireTarget(v, running);
      RegionDirectory.Entry chk = v.regions().find(RegionDirectory.TAG_CHECKPOINT);
      v.device().write((chk.start() + r.slot()) * v.blockSize(), ByteBuffer.wrap(r.write(v.blockSize())));
      return null;
    });
    return r;
  }

  /** Makes {@code r}, a record a finished sync has made durable, the volume's pending migration; null: nothing. */
  private static void confirm(Volume v, MigrationCheckpoint running, MigrationCheckpoint r) throws IOException {
    if (r == null) {
      return;
    }
    v.withWriterLock(() -> {
      requireTarget(v, running);
      v.setPendingMigration(r);
      return null;
    });
  }

  /** Syncs the copied blocks, then records {@code watermark} in a new checkpoint (synced). */
  private static MigrationCheckpoint durableCheckpoint(Volume v, MigrationCheckpoint prev, long watermark,
      long total) throws IOException {
    // The copier read published inode blocks, which may belong to transactions not yet in the WAL; the
    // checkpoint may only count them once they are durable, or a crash could keep in the new table a change
    // the old table lost.
    v.journal().awaitDurable(v.journal().lastTicket());
    v.journal().syncOutsideWal();
    MigrationCheckpoint c = prev.with(Phase.COPYING_INODES, watermark, Math.max(total, watermark),
        System.currentTimeMillis());
    recordWhileRunning(v, c);
    return c;
  }

  /**
   * Writes a record of the running migration, under the writer lock and only while it is still the pending one:
   * a rollback from another thread (which holds that lock) may have ended it meanwhile and zeroed the records,
   * and a record written after that would describe a migration that no longer exists.
   */
  private static void recordWhileRunning(Volume v, MigrationCheckpoint c) throws IOException {
    v.withWriterLock(() -> {
      requireTarget(v, c);
      writeCheckpoint(v, c);
      return null;
    });
  }

  private static void writeCheckpoint(Volume v, MigrationCheckpoint c) throws IOException {
    writeRecord(v, c);
    v.setPendingMigration(c);
  }

  /** Writes and syncs record {@code c} into its slot. */
  private static void writeRecord(Volume v, MigrationCheckpoint c) throws IOException {
    RegionDirectory.Entry chk = v.regions().find(RegionDirectory.TAG_CHECKPOINT);
    v.device().write((chk.start() + c.slot()) * v.blockSize(), ByteBuffer.wrap(c.write(v.blockSize())));
    v.journal().syncOutsideWal();
  }

  /**
   * Zeroes the record of a start whose transaction failed before it could commit. {@link #peek} cannot tell
   * whether the pending bit is set (it is in the WAL until the next journal checkpoint), so it takes any record
   * as the running migration's. Best effort: if this fails too, the next writable open zeroes the leftover.
   */
  private static void clearAbandonedRecord(Volume v, Throwable failure) {
    try {
      RegionDirectory.Entry chk = v.regions().find(RegionDirectory.TAG_CHECKPOINT);
      v.device().write(chk.start() * v.blockSize(), ByteBuffer.wrap(new byte[2 * v.blockSize()]));
      v.journal().syncOutsideWal();
    } catch (IOException | RuntimeException e) {
      failure.addSuppressed(e);
    }
  }

  private static void clearCheckpoint(Volume v) throws IOException {
    RegionDirectory.Entry chk = v.regions().find(RegionDirectory.TAG_CHECKPOINT);
    v.device().write(chk.start() * v.blockSize(), ByteBuffer.wrap(new byte[2 * v.blockSize()]));
    v.journal().syncOutsideWal();
    v.setPendingMigration(null);
  }

  /** One more than the highest sequence in either checkpoint slot, so the new record is the newest. */
  private static long nextSequence(Volume v) throws IOException {
    RegionDirectory.Entry chk = v.regions().find(RegionDirectory.TAG_CHECKPOINT);
    long max = -1;
    for (int s = 0; s < 2; s++) {
      try {
        MigrationCheckpoint c = MigrationCheckpoint.read(v.journal().readRaw(chk.start() + s), chk.start() + s,
            v.resource());
        if (c != null) {
          max = Math.max(max, c.sequence());
        }
      } catch (VdeException e) {
        // A damaged leftover slot only matters for its sequence; the new record overwrites one slot anyway.
        max = Math.max(max, 1);
      }
    }
    return max + 1;
  }

  /**
   * The reports of one run, which never step back. The total is the initialized part of the old table, and
   * foreground creations extend it while the copy runs; migrated is the watermark. Both are reported as they are
   * (neither ever falls), but their ratio can: 800 of 1,000 is 80%, and after 300 creations 816 of 1,300 is 63%.
   * A display that falls back looks like lost work, so the percent is held at the highest reported until the copy
   * catches up with the grown total. That is no lie about the copy: the percent was true when first reported, the
   * counts beside it are exact, and the ETA is worked out from them (what is left of the grown total at the rate
   * so far). Counting the grown part as done instead would claim inodes that were never copied.
   */
  private static final class Reports {
    private final MigrationOptions opts;
    private final long startW;
    private final long t0;
    private double percent;
    private long total;
    private long migrated;

    Reports(MigrationOptions opts, long startW, long t0) {
      this.opts = opts;
      this.startW = startW;
      this.t0 = t0;
    }

    void start(Phase phase, long total, long migrated) {
      opts.listener().onStart(next(phase, total, migrated));
    }

    void report(Phase phase, long total, long migrated) {
      opts.listener().onProgress(next(phase, total, migrated));
    }

    private MigrationProgress next(Phase phase, long t, long m) {
      total = Math.max(total, t);
      migrated = Math.max(migrated, Math.min(m, total));
      double secs = (System.nanoTime() - t0) / 1e9;
      double rate = secs > 0 ? (migrated - startW) / secs : 0;
      double exact = total == 0 ? 100 : 100.0 * migrated / total;
      percent = Math.max(percent, exact);
      // Nothing left is known to take no time, whatever the rate (a run that had nothing to copy has none).
      double eta = migrated >= total ? 0 : exact >= 1 && rate > 0 ? (total - migrated) / rate : -1;
      return new MigrationProgress(phase, total, migrated, percent, rate, eta);
    }
  }

  private static long elapsedMs(long t0) {
    return (System.nanoTime() - t0) / 1_000_000;
  }

  static String describe(long manifest) {
    List<String> n = new ArrayList<>();
    for (Module m : Module.fromManifest(manifest)) {
      n.add(m.displayName());
    }
    return String.join(", ", n);
  }
}
