package dev.vde.module.copy;

import dev.vde.VdeCorruptedException;
import dev.vde.VdeFormatTooNewException;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.VdeNoSpaceException;
import dev.vde.format.Superblock;
import dev.vde.alloc.AllocationBitmap;
import dev.vde.alloc.FreeSpaceScanner;
import dev.vde.format.BlockType;
import dev.vde.fs.ChangeTracker;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.fs.Volume;
import dev.vde.io.BlockDevice;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Adds modules by copying (option 4): builds a new volume laid out as if created with the source's modules plus
 * the new ones, and transfers only the blocks the source's inodes reference.
 *
 * <h2>What is copied</h2>
 * The destination has the source's block size, size (or a larger one), inode count and WAL size, and its own
 * metadata placed by {@code Volume.plan} for the union of the modules, with the canonical inode layout. The
 * source's metadata is never copied, it is rebuilt: inodes are converted record by record into the new layout
 * (existing module fields moved, new ones zero) and written as whole inode-table blocks up to the last live
 * inode; the bitmap is the destination's metadata plus every block placed; the superblock counts follow. Of the
 * data area only file data, directory and indirect extent blocks are read, found by walking the inode table, in
 * block order and coalesced into large transfers; free space is neither read nor written, so a sparse host
 * file stays sparse and the copy costs what the live data costs. Blocks keep their numbers except where the
 * destination's larger metadata covers them; those are relocated to free space and the inodes and extent chains
 * that point at them rewritten ({@link RelocationPlanner}). All placement is decided before the first write, so
 * a copy that cannot fit fails without writing anything.
 *
 * <h2>Crash safety</h2>
 * The source is only read. The destination becomes a volume with its last write, never before:
 * <ol>
 *   <li>both superblock slots are written with {@link Superblock#INCOMPAT_INCOMPLETE_COPY} set and synced;
 *       before that sync the destination has at most these superblocks, so it is either not a volume at all or
 *       an incomplete copy;</li>
 *   <li>data, extent blocks, inode table, region directory and bitmap are written (any subset may reach the
 *       disk), then synced; every open meanwhile finds only marked superblocks and refuses with
 *       "incomplete copy";</li>
 *   <li>both slots are written again without the bit, with sequences 2 and 3, and synced. A crash here leaves
 *       each slot old (marked), new (complete) or torn; open takes the valid copy with the highest sequence, so
 *       it sees either a marked one (refused) or a complete one, and a complete one is only ever written after
 *       the sync of step 2 made everything it describes durable. A torn slot next to a complete one is what a
 *       crashed checkpoint leaves too, and a writable open repairs it; a slot still marked cannot stand in for
 *       the complete one either, and is repaired the same way.</li>
 * </ol>
 * A failure (damaged source block, cancellation, full host disk) removes a destination file this copy created;
 * one that cannot be removed still carries the mark.
 *
 * <h2>A source in use</h2>
 * The source may be open and used by other threads; the copy is the state published at one instant, taken with
 * the writers held off ({@code Volume.withWritersPaused}: the writer lock, then the read side of the state lock);
 * readers carry on. To keep that pause short on a writable source, everything is first copied while writers
 * run (the pre-copy, {@link CopyOptions#preCopy}): a scan (made again with publishing held still if what it read
 * while writers ran does not fit together), then the blocks,
 * checked one by one, and the converted inode table, with the volume recording every block it hands back to the
 * allocator and every metadata block a transaction rewrites. The final pass, writers held off, scans again and
 * copies only what the pre-copy does not cover (see {@link #stillToCopy} and
 * {@link InodeTableWriter#stillToWrite}); it is exact because file data is never rewritten in place (a block
 * keeps its bytes until it is freed, released at a checkpoint and allocated again) and metadata changes only
 * through transactions, and both are recorded from before the first scan. Once everything read
 * from the source is written, the rest (region directory, bitmap, the sync of everything and the superblocks)
 * comes from the plan alone, so the writers resume before it; with {@code verify} they stay paused until the
 * comparison with the source is done. {@link CopyResult#pauseMillis} reports the pause: the final pass, and the
 * first scan when it had to be made with publishing held; none for a read-only source, which has no writers.
 * Blocks pre-copied and freed before the final pass stay written in the destination, as free blocks.
 */
public final class ExtentAwareCopy {
  private ExtentAwareCopy() {}

  /**
   * Copies the image at {@code source} (opened read-only for the duration) to a new image at {@code destination}.
   * This is the entry point for tools: {@code vde copy} and {@code vde module add --option copy}.
   */
  public static CopyResult copy(Path source, Path destination, CopyOptions options) throws IOException {
    try (VirtualDisk disk = VirtualDisk.open(source, OpenOptions.readOnlyOptions())) {
      return copy(disk, destination, options);
    }
  }

  /**
   * Copies an open volume to a new host file. An existing file is refused unless {@link CopyOptions#force}; the
   * source itself always is. On failure the partial destination is removed and the source is as it was.
   */
  public static CopyResult copy(VirtualDisk source, Path destination, CopyOptions options) throws IOException {
    requireOpen(source);
    PathDestination path = PathDestination.check(source, destination, options.force());
    Target target = new Target() {
      @Override
      public BlockDevice open(long bytes) throws IOException {
        path.ensureRoom(bytes);
        return path.create();
      }

      @Override
      public void release(BlockDevice dev) throws IOException {
        dev.close();
      }

      @Override
      public VirtualDisk openCopy(BlockDevice dev) throws IOException {
        return VirtualDisk.open(path.writing(), OpenOptions.readOnlyOptions());
      }

      @Override
      public void fail(BlockDevice dev) {
        closeQuietly(dev);
        path.removePartial();
      }

      @Override
      public void commit() throws IOException {
        path.commit();
      }
    };
    return run(source, target, options, new CopyContext(options, destination.toString()), destination.toString(),
        "the partial copy was removed");
  }

  /**
   * Copies an open volume onto an empty device (size 0), which the caller owns and closes. On failure the device
   * holds an incomplete copy that no open accepts, or nothing that looks like a volume.
   */
  public static CopyResult copy(VirtualDisk source, BlockDevice destination, CopyOptions options)
      throws IOException {
    requireOpen(source);
    if (destination.size() != 0) {
      throw new VdeInvalidArgumentException(destination.describe() + " is not empty; a copy needs an empty device");
    }
    Target target = new Target() {
      @Override
      public BlockDevice open(long bytes) {
        return destination;
      }

      @Override
      public void release(BlockDevice dev) {
        // The caller's device stays open.
      }

      @Override
      public VirtualDisk openCopy(BlockDevice dev) throws IOException {
        return VirtualDisk.open(new UnclosableDevice(dev), OpenOptions.readOnlyOptions());
      }

      @Override
      public void fail(BlockDevice dev) {
        // The device keeps what was written: an incomplete copy that no open accepts. A failure after the final
        // superblocks (a verification that found the copy wrong, or was cancelled) marks it incomplete again.
        markIncomplete(destination, source.volume().blockSize());
      }
    };
    return run(source, target, options, new CopyContext(options, destination.describe()), destination.describe(),
        "the device holds an incomplete copy");
  }

  /**
   * Gives each superblock slot of {@code dev} that holds a finished copy's superblock the incomplete-copy bit
   * again, and syncs: after a failure, no open accepts what the copy wrote. Best effort: a device that cannot be
   * written keeps what it has (a copy failing this late failed its verification, which the caller is told).
   */
  private static void markIncomplete(BlockDevice dev, int blockSize) {
    try {
      boolean changed = false;
      for (int slot = 0; slot < 2; slot++) {
        if (dev.size() < (long) (slot + 1) * blockSize) {
          return;
        }
        byte[] b = new byte[blockSize];
        dev.read((long) slot * blockSize, java.nio.ByteBuffer.wrap(b));
        Superblock sb;
        try {
          sb = Superblock.read(b, slot, dev.describe());
        } catch (VdeCorruptedException notOne) {
          continue;
        }
        if ((sb.incompat() & Superblock.INCOMPAT_INCOMPLETE_COPY) == 0) {
          byte[] marked = sb.withIncompat(sb.incompat() | Superblock.INCOMPAT_INCOMPLETE_COPY).write();
          dev.write((long) slot * blockSize, java.nio.ByteBuffer.wrap(marked));
          changed = true;
        }
      }
      if (changed) {
        dev.sync();
      }
    } catch (IOException e) {
      // Nothing more can be done with a device that fails here.
    }
  }

  /** Where a copy goes: a new host file, or an empty device the caller owns. */
  private interface Target {
    /** The destination device, sized 0, with room checked for {@code bytes} where that can be known. */
    BlockDevice open(long bytes) throws IOException;

    /** Done with the device: closes it when the copy opened it. */
    void release(BlockDevice dev) throws IOException;

    /** The finished copy, opened read-only for verification. */
    VirtualDisk openCopy(BlockDevice dev) throws IOException;

    /** After a failure: what the copy created is removed where it can be; {@code dev} may be null. */
    void fail(BlockDevice dev);

    /** After success (device released, copy verified if asked): the copy is put where it belongs. */
    default void commit() throws IOException {}
  }

  /** A plan taken of the source and the view it was taken from. */
  private record Planned(SourceView src, CopyPlan plan) {}

  /**
   * What a pre-copy leaves for the final pass: the source as it was scanned, the data transfers it made (sorted
   * by source block), and one bit per source block written to the destination after passing its checks.
   */
  private record PreCopy(SourceView src, CopyPlan plan, List<Transfer> moved, long[] written, long[] tableFailed) {}

  /** What the paused part of a copy leaves for the rest: the source as read, the plan, the destination's writer. */
  private record Copied(SourceView src, CopyPlan plan, DestinationWriter writer) {}

  /**
   * The copy. With a pre-copy (a writable source), the data is copied first while writers run and the volume
   * records every block it hands back to the allocator; the final pass, with writers held off, scans the inodes
   * again and copies only what the pre-copy did not cover: every transfer that is not file data kept at its block
   * number (directory and extent blocks change in place), and file data blocks that were not pre-copied, were
   * pre-copied for another inode, or were released since (data is never rewritten in place, so a block keeps its
   * bytes until it is freed and allocated again). Should the source's format change meanwhile (a module added),
   * the destination is emptied and the final pass copies everything. Everything read from the source is written
   * before writers resume; the rest comes from the plan (see the class comment).
   */
  private static CopyResult run(VirtualDisk source, Target target, CopyOptions options, CopyContext cx,
      String destination, String aftermath) throws IOException {
    Volume vol = source.volume();
    long started = System.nanoTime();
    long[] pausedNanos = {0};
    BlockDevice[] dev = {null};
    boolean pre = options.preCopy() && !source.isReadOnly();
    ChangeTracker tracker = pre ? vol.withWriterLock(vol::startTracking) : null;
    try {
      PreCopy prior = pre ? preCopy(vol, target, options, cx, dev, pausedNanos) : null;
      Copied copied = vol.withWritersPaused(() -> {
        long t0 = System.nanoTime();
        // The pre-copy moved the bulk at the I/O limit; what holds the writers off now goes at full speed.
        cx.paced(!pre);
        try {
          long[] released = pre ? tracker.releasedBlocks() : null;
          long[] rewritten = pre ? tracker.rewrittenBlocks() : null;
          SourceView src = SourceView.of(vol);
          CopyPlan plan = plan(src, options, cx);
          List<Transfer> transfers = plan.transfers();
          if (dev[0] == null) {
            dev[0] = target.open(plan.blocksToWrite() * src.blockSize);
          }
          boolean restart = prior != null && (!DestinationGeometry.sameInputs(prior.src().sb, src.sb)
              || prior.src().inodeTableStart() != src.inodeTableStart());
          long[] tableStillToWrite = null;
          if (prior != null && !restart) {
            transfers = stillToCopy(transfers, prior.moved(), prior.written(), released, rewritten);
            plan = plan.withTableBlocksAtLeast(prior.plan().inodeTableInitBlocks());
            tableStillToWrite = InodeTableWriter.stillToWrite(prior.plan(), prior.tableFailed(), plan, src, rewritten);
          }
          DestinationWriter writer = new DestinationWriter(dev[0], src, plan, cx);
          if (prior == null) {
            writer.begin();
          } else if (restart) {
            dev[0].truncate(0);
            writer.begin();
          }
          new BlockMover(src, plan.inventory(), dev[0], cx).move(transfers);
          writer.writeRebuiltBlocks();
          new InodeTableWriter(src, plan, dev[0], cx).write(tableStillToWrite);
          // The rest reads and writes everything again, as paced as the caller asked.
          cx.paced(true);
          if (options.verify()) {
            // The copy is compared with the source, so the source must not change until then.
            complete(writer, cx);
            target.release(dev[0]);
            try (VirtualDisk copy = target.openCopy(dev[0])) {
              CopyVerifier.verify(source, copy, plan, cx);
            }
          }
          return new Copied(src, plan, writer);
        } finally {
          cx.paced(true);
          pausedNanos[0] += System.nanoTime() - t0;
        }
      });
      if (!options.verify()) {
        // Everything still to do is written from the plan; the source is not read again, so its writers go on.
        complete(copied.writer(), cx);
        target.release(dev[0]);
      }
      target.commit();
      // A read-only source has no writers to hold off: in this process it refuses writes, and its lock keeps
      // other processes from opening it writable. Its whole pass counted as a pause before.
      return result(copied.src(), copied.plan(), started, source.isReadOnly() ? 0 : pausedNanos[0],
          options.verify());
    } catch (IOException e) {
      target.fail(dev[0]);
      throw explain(e, destination, aftermath);
    } catch (RuntimeException | Error e) {
      target.fail(dev[0]);
      throw e;
    } finally {
      if (tracker != null) {
        stopTracking(vol, tracker);
      }
    }
  }

  /**
   * Ends the copy's change tracking. A volume closed meanwhile (by its owner, while the copy wrote what needs no
   * more of the source) refuses the writer lock, and its trackers went with it: that is not the copy's failure,
   * which would be reported for a complete copy already in place.
   */
  private static void stopTracking(Volume vol, ChangeTracker tracker) throws IOException {
    try {
      vol.withWriterLock(() -> {
        vol.stopTracking(tracker);
        return null;
      });
    } catch (dev.vde.VdeException e) {
      if (!vol.isClosed()) {
        throw e;
      }
    }
  }

  /**
   * With changes already being tracked: scans the source while writers run (again with its state held still,
   * writers preparing but not publishing, if what it read does not fit together: {@link #planWhileRunning}),
   * marks the destination incomplete and copies every block that keeps its number, then the inode table, while
   * writers run. A piece that fails its checks (changed meanwhile) is left for the final pass.
   */
  private static PreCopy preCopy(Volume vol, Target target, CopyOptions options, CopyContext cx,
      BlockDevice[] dev, long[] pausedNanos) throws IOException {
    Planned p = planWhileRunning(vol, options, cx);
    if (p == null) {
      long t0 = System.nanoTime();
      try {
        p = vol.withStableState(() -> {
          // Writers cannot publish meanwhile: not stretched by the I/O limit, like the final pass.
          cx.paced(false);
          SourceView src = SourceView.of(vol);
          return new Planned(src, plan(src, options, cx));
        });
      } finally {
        cx.paced(true);
        pausedNanos[0] += System.nanoTime() - t0;
      }
    }
    dev[0] = target.open(p.plan().blocksToWrite() * p.src().blockSize);
    new DestinationWriter(dev[0], p.src(), p.plan(), cx).begin();
    List<Transfer> kept = new ArrayList<>();
    for (Transfer t : p.plan().transfers()) {
      if (!t.relocated()) {
        kept.add(t);
      }
    }
    long[] written = AllocationBitmap.words((int) ((p.src().totalBlocks() + 63) >>> 6),
        (p.src().totalBlocks() + 7) / 8, "a live copy's record of pre-copied blocks");
    BlockMover.preCopy(p.src(), p.plan().inventory(), dev[0], cx, written).move(kept);
    long[] tableFailed = InodeTableWriter.preCopy(p.src(), p.plan(), dev[0], cx);
    return new PreCopy(p.src(), p.plan(), kept, written, tableFailed);
  }

  /**
   * The pre-copy's plan, made without holding anything back, or null when it has to be made again with publishing
   * held (the scan met states published at different moments that do not fit together: a block seen in two
   * inodes, a chain that ends early, a torn block, all of which it reports as damage; or, counting a file deleted
   * meanwhile next to one grown meanwhile, more data than the destination holds). It only guides the
   * pre-copy, whose every block is checked as it is read and corrected by the final pass through the change
   * tracker, which was started before this scan: nothing it reads is older than that, and whatever changed since
   * is recorded. Real damage, and a real shortage of room, show again in the held scan. Every other failure
   * (cancellation, the caller's progress callback, an I/O error) ends the copy as it would have there.
   */
  private static Planned planWhileRunning(Volume vol, CopyOptions options, CopyContext cx) throws IOException {
    SourceView src = SourceView.whileRunning(vol);
    try {
      return new Planned(src, plan(src, options, cx));
    } catch (VdeCorruptedException | VdeNoSpaceException mixedStates) {
      return null;
    }
  }

  /**
   * The final pass's transfers minus what the pre-copy already placed: a block kept at its number is skipped when
   * the pre-copy wrote it, for the same inode, and since change tracking began it was neither released (file
   * data changes only that way) nor given new content by a transaction (directory and extent blocks change in
   * place, through transactions). Both lists are sorted by source block and do not overlap within themselves.
   */
  static List<Transfer> stillToCopy(List<Transfer> now, List<Transfer> before, long[] written, long[] released,
      long[] rewritten) {
    List<Transfer> out = new ArrayList<>();
    int j = 0;
    for (Transfer t : now) {
      if (t.relocated()) {
        out.add(t);
        continue;
      }
      long x = t.src();
      long run = -1;
      while (x < t.srcEnd()) {
        while (j < before.size() && before.get(j).srcEnd() <= x) {
          j++;
        }
        Transfer b = j < before.size() ? before.get(j) : null;
        boolean covered = b != null && b.src() <= x && b.owner() == t.owner() && b.type() == t.type();
        long segEnd = b == null ? t.srcEnd()
            : b.src() <= x ? Math.min(t.srcEnd(), b.srcEnd()) : Math.min(t.srcEnd(), b.src());
        for (; x < segEnd; x++) {
          boolean need = !covered || !FreeSpaceScanner.isSet(written, x)
              || (released != null && FreeSpaceScanner.isSet(released, x))
              || (rewritten != null && FreeSpaceScanner.isSet(rewritten, x));
          if (need && run < 0) {
            run = x;
          } else if (!need && run >= 0) {
            out.add(new Transfer(run, run, (int) (x - run), t.owner(), t.type()));
            run = -1;
          }
        }
      }
      if (run >= 0) {
        out.add(new Transfer(run, run, (int) (t.srcEnd() - run), t.owner(), t.type()));
      }
    }
    return out;
  }

  /** Finishes a destination whose source blocks are all written (see the class comment). */
  private static void complete(DestinationWriter writer, CopyContext cx) throws IOException {
    writer.writeRegionsAndBitmap();
    cx.progress("syncing", 0, 1, "steps");
    writer.finish();
    cx.progress("syncing", 1, 1, "steps");
  }

  /**
   * Blocks a copy of {@code source} would transfer, known before copying: the allocated blocks of its data area
   * (everything the bitmap marks outside superblocks, region directory and regions).
   */
  public static long estimateCopyBlocks(VirtualDisk source) throws IOException {
    requireOpen(source);
    Volume vol = source.volume();
    if (vol.unreadableBitmapBlocks().isEmpty()) {
      return vol.withStableState(() -> SourceView.of(vol).allocatedDataBlocks());
    }
    // Part of the bitmap is a stand-in (an unreadable block's range taken as allocated, so that the files stay
    // readable), and counted from it every block there would look like data: only the inodes, which the copy's own
    // plan reads, say which blocks it will copy.
    CopyOptions planOnly = CopyOptions.defaults();
    CopyContext cx = new CopyContext(planOnly, vol.resource());
    return vol.withStableState(() -> plan(SourceView.of(vol), planOnly, cx)).blocksCopied();
  }

  /**
   * Why a volume with this superblock cannot be copied by this engine, or null when it can. Feature bits it does
   * not know stand for structures it cannot rebuild in the destination: a copy would drop them without a word, so
   * it is refused instead (a source with unknown incompat bits does not even open).
   */
  public static String unknownFeatures(Superblock sb) {
    long compat = sb.compat() & ~Superblock.KNOWN_COMPAT;
    long roCompat = sb.roCompat() & ~Superblock.KNOWN_RO_COMPAT;
    if (compat == 0 && roCompat == 0) {
      return null;
    }
    return String.format("volume uses features this engine does not know (compat bits 0x%016x, roCompat bits "
        + "0x%016x); a copy would drop them; copy it with the newer engine that wrote it", compat, roCompat);
  }

  /**
   * Why a copy of a volume with superblock {@code sb} and {@code liveBlocks} allocated data blocks, adding
   * {@code modules}, at the same size, cannot work; null when it can as far as a quick look tells (the copy's
   * own plan, which looks at every extent, has the last word: {@link #planProblem} asks it too). The destination's
   * inodes must fit its blocks, and its larger metadata plus the data must fit.
   */
  public static String copyProblem(Superblock sb, java.util.Set<dev.vde.format.Module> modules, long liveBlocks) {
    return copyProblem(sb, CopyOptions.defaults().modulesToAdd(modules), liveBlocks);
  }

  /**
   * As {@link #copyProblem(Superblock, java.util.Set, long)}, for a copy made with {@code options} (its modules
   * and its size; a size of 0 is the source's).
   */
  public static String copyProblem(Superblock sb, CopyOptions options, long liveBlocks) {
    String unknown = unknownFeatures(sb);
    if (unknown != null) {
      return unknown;
    }
    if ((sb.incompat() & Superblock.INCOMPAT_MIGRATION_PENDING) != 0) {
      return "an inode migration is in progress";
    }
    DestinationGeometry g;
    try {
      g = DestinationGeometry.of(sb, options);
    } catch (VdeInvalidArgumentException e) {
      return "the new volume cannot be made: " + e.getOriginalMessage();
    }
    long room = g.totalBlocks() - g.metadataEnd();
    if (liveBlocks > room) {
      return "the data (" + liveBlocks + " blocks) does not fit next to the new volume's metadata (" + room
          + " blocks left of " + g.totalBlocks() + "); copy to a larger volume"
          + (options.sizeBytes() == 0 ? " with 'vde copy --size'" : "");
    }
    return null;
  }

  /**
   * Why a copy of {@code source} made with {@code options} cannot work, or null when it will fit: the quick look of
   * {@link #copyProblem(Superblock, CopyOptions, long)}, then the copy's own plan, made as the copy makes it (while
   * writers run, again with publishing held if what it read does not fit together). Only the plan sees every
   * extent: moving blocks out from under the destination's larger metadata can split a file's runs past the eight
   * inline extents and need extent-chain blocks that no count of allocated blocks includes. Writes nothing; reads
   * the whole inode table only when the room to spare is less than the blocks that move. For the module planner,
   * which must not call a copy feasible that then has no room.
   */
  public static String planProblem(VirtualDisk source, CopyOptions options) throws IOException {
    requireOpen(source);
    Volume vol = source.volume();
    long live = estimateCopyBlocks(source);
    String quick = copyProblem(vol.superblock(), options, live);
    if (quick != null) {
      return quick;
    }
    // Only blocks that move out from under the destination's metadata can split a file's runs, each into at most
    // one more extent, and a chain block a file gains holds at least one more extent: with that many blocks to
    // spare the plan cannot run short, and the inode table need not be read.
    DestinationGeometry g = DestinationGeometry.of(vol.superblock(), options);
    long displaced = vol.withStableState(() -> SourceView.of(vol).allocatedDataBlocksBelow(g.metadataEnd()));
    if (g.totalBlocks() - g.metadataEnd() - live >= displaced) {
      return null;
    }
    // Unpaced and silent: the caller's limit and progress are for the copy, not for this look ahead.
    CopyOptions planOnly = CopyOptions.defaults().sizeBytes(options.sizeBytes()).modulesToAdd(options.modulesToAdd());
    CopyContext cx = new CopyContext(planOnly, source.volume().resource());
    try {
      Planned p = source.isReadOnly() ? null : planWhileRunning(vol, planOnly, cx);
      if (p == null) {
        vol.withStableState(() -> plan(SourceView.of(vol), planOnly, cx));
      }
      return null;
    } catch (VdeNoSpaceException e) {
      return e.getOriginalMessage();
    } catch (VdeCorruptedException e) {
      return "the copy would stop at damage: " + e.getMessage() + "; run 'vde fsck'";
    }
  }

  /** A closed volume fails here with the engine's "volume is closed" rather than on a closed channel later. */
  private static void requireOpen(VirtualDisk source) throws IOException {
    source.info();
  }

  private static CopyPlan plan(SourceView src, CopyOptions options, CopyContext cx) throws IOException {
    if (options.maxIops() < 0) {
      throw new VdeInvalidArgumentException("maximum I/O rate " + options.maxIops() + " is negative");
    }
    String unknown = unknownFeatures(src.sb);
    if (unknown != null) {
      throw new VdeFormatTooNewException(unknown, src.resource);
    }
    String walDamage = src.vol.journal().recovery().walDamage();
    if (walDamage != null) {
      // The copy would be a clean, writable volume without the acknowledged transactions recovery could not
      // replay: a loss nobody would see. Files can still be read out of the source one by one.
      throw new VdeCorruptedException(-1, "WAL", walDamage + "; a copy would drop them without a trace, so it is "
          + "refused: copy files out with 'vde get', or restore the volume from a backup", src.resource);
    }
    if ((src.sb.incompat() & Superblock.INCOMPAT_MIGRATION_PENDING) != 0) {
      throw new VdeInvalidArgumentException("an inode migration is in progress; finish it with 'vde migrate "
          + "resume' or undo it with 'vde migrate rollback' before copying", src.resource);
    }
    DestinationGeometry geometry = DestinationGeometry.of(src.sb, options);
    SourceInventory inventory = InventoryScanner.scan(src, cx, geometry.metadataEnd());
    return RelocationPlanner.plan(geometry, inventory);
  }

  private static CopyResult result(SourceView src, CopyPlan plan, long started, long pausedNanos,
      boolean verified) {
    long now = System.nanoTime();
    long total = src.totalBlocks();
    return new CopyResult(total, plan.blocksCopied(), total - plan.blocksCopied(), plan.blocksRelocated(),
        plan.extentBlocksAdded(), plan.inventory().liveInodes(), plan.blocksCopied() * src.blockSize,
        Duration.ofNanos(now - started), pausedNanos / 1_000_000, verified,
        plan.geometry().addedModules(), plan.geometry().modules());
  }

  /** The host's "no space left" becomes an engine error that says what became of the destination. */
  private static IOException explain(IOException e, String destination, String aftermath) {
    if (PathDestination.isNoSpace(e)) {
      return new VdeNoSpaceException("no space left on the host file system for " + destination + " while copying ("
          + e.getMessage() + "); " + aftermath);
    }
    return e;
  }

  private static void closeQuietly(BlockDevice dev) {
    if (dev == null) {
      return;
    }
    try {
      dev.close();
    } catch (IOException e) {
      // The failure being handled is the one worth reporting.
    }
  }
}
