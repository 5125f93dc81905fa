package dev.vde.module;

import dev.vde.VdeException;
import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.VirtualDisk;
import dev.vde.fs.Volume;
import dev.vde.module.copy.CopyOptions;
import dev.vde.module.copy.ExtentAwareCopy;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Compares the four ways of adding modules to a volume and recommends the cheapest feasible one, in the order
 * padding, region, migrate, copy. Several modules are planned together: their fields are claimed in order (a
 * chain such as RAID then Compression), their regions placed one after the other, and a migration adds them
 * all at once. Analysis reads only in-memory state and writes nothing.
 *
 * <p>A volume whose recovery found acknowledged WAL transactions it cannot replay has no feasible option: it stays
 * read-only, and a copy of it is refused. Nor has one with roCompat features this engine does not know: it opens
 * read-only, and neither a migration nor a copy rebuilds structures it does not know. Nor, but for the copy, has a
 * host file this process may not write, or a volume whose allocation bitmap is damaged: the read-only open an
 * analysis makes hides that a writable open would be read-only or refused too.
 *
 * <p>Durations are estimates from documented defaults ({@link #SEQUENTIAL_BYTES_PER_SECOND},
 * {@link #SYNC_SECONDS}); they are for comparing options, not promises.
 */
public final class ModulePlanner {
  /** Assumed sequential throughput of the host file system for estimates. */
  public static final double SEQUENTIAL_BYTES_PER_SECOND = 200e6;
  /** Assumed cost of one durable sync. */
  public static final double SYNC_SECONDS = 0.0005;

  private ModulePlanner() {}

  /** One option's evaluation; the shape of {@code vde module analyze --json}'s options. */
  public record OptionAnalysis(AdditionOption option, boolean feasible, String reason, String changes,
      long blocksRead, long blocksWritten, double estimatedSeconds, String downtime, String risk,
      boolean recommended) {}

  /** The whole analysis. */
  public record Analysis(List<Module> modules, List<OptionAnalysis> options) {
    /** The recommended option, or null when none is feasible. */
    public OptionAnalysis recommended() {
      for (OptionAnalysis o : options) {
        if (o.recommended()) {
          return o;
        }
      }
      return null;
    }

    public OptionAnalysis option(AdditionOption which) {
      for (OptionAnalysis o : options) {
        if (o.option() == which) {
          return o;
        }
      }
      throw new IllegalArgumentException(which.name());
    }
  }

  /** Analyzes adding {@code modules}, judging the copy as a copy at the source's size. */
  public static Analysis analyze(VirtualDisk disk, List<Module> modules) throws IOException {
    return analyze(disk, modules, CopyOptions.defaults());
  }

  /**
   * Analyzes adding {@code modules}, judging the copy as one made with {@code copy}'s size (its modules are
   * {@code modules}; null is the defaults): a caller that gives a larger destination is not told that the data
   * does not fit. {@code copy} itself is not changed.
   */
  public static Analysis analyze(VirtualDisk disk, List<Module> modules, CopyOptions copy) throws IOException {
    Volume v = disk.volume();
    Superblock sb = v.superblock();
    InPlaceAddition.checkInactive(sb, modules);
    int bs = sb.blockSize();
    boolean needsFields = modules.stream().anyMatch(m -> m.inodeBytes() > 0);
    boolean needsRegions = modules.stream().anyMatch(m -> !m.regions().isEmpty());
    int fieldBytes = modules.stream().mapToInt(Module::inodeBytes).sum();
    InodeLayout claimed = PaddingClaim.claimAll(sb.layout(), modules);
    RegionPlan regions = RegionPlan.plan(v.plannableWords(), sb.totalBlocks(), modules);
    int rdRoom = RegionDirectory.entriesPerBlock(bs) * sb.regionDirBlocks() - v.regions().entries().size();
    String regionProblem = !regions.feasible()
        ? "not enough contiguous free space for region " + regions.failedRegion() + " (largest free run "
            + regions.largestFreeRun() + " blocks)" + v.heldFreedSpaceNote()
        : regions.entries() > rdRoom ? "region directory has room for " + rdRoom + " more entries"
        : v.formatChangeWalProblem(regions.runs());
    // One WAL transaction: descriptor, images (the bitmap blocks the regions touch, the region directory when regions
    // are added, the superblock) and commit record, then the images in place. Counting a bitmap block per region
    // and the directory always overstated it, threefold for a field-only claim at 512-byte blocks.
    long inPlaceWritten = v.formatChangeWalBlocks(regions.runs()) + v.formatChangeImages(regions.runs());
    // Recovery found acknowledged transactions it cannot replay: the volume stays read-only so that no checkpoint
    // discards them, and a copy is refused because it would drop them silently. No option can run.
    String walDamage = v.journal().recovery().walDamage();
    // A volume with roCompat features this engine does not know opens read-only: nothing can be added in place
    // (the migration and the copy refuse unknown features anyway, and say so themselves).
    long unknownRo = sb.roCompat() & ~Superblock.KNOWN_RO_COMPAT;
    // Nor on a host file this process may not write, or a volume whose allocation bitmap is damaged, which the
    // read-only open an analysis makes does not show: a writable open is then read-only (or refused) as well.
    String cannotWrite = hostNotWritable(disk);
    if (cannotWrite == null) {
      cannotWrite = damagedBitmap(v);
    }
    String unwritable = walDamage != null ? walDamage + "; the volume stays read-only and cannot be copied: copy"
        + " files out with 'vde get', or restore it from a backup"
        : unknownRo != 0 ? String.format("the volume uses features this engine cannot keep up to date (roCompat "
            + "bits 0x%016x), so it opens read-only; use an engine that knows them", unknownRo) : cannotWrite;
    double inPlaceSeconds = 3 * SYNC_SECONDS;

    List<OptionAnalysis> out = new ArrayList<>();
    // Option 2: padding.
    String padReason = unwritable != null ? unwritable
        : !needsFields ? "the modules add no inode fields; nothing to claim"
        : claimed == null ? PaddingClaim.claimProblem(sb.layout(), modules)
        : regionProblem;
    out.add(new OptionAnalysis(AdditionOption.PADDING, padReason == null, padReason,
        "claims " + fieldBytes + " of " + sb.layout().paddingBytes() + " padding bytes"
            + (needsRegions ? "; adds " + regions.entries() + " region(s) of " + regions.neededBlocks() + " blocks"
            : "") + "; no inode is rewritten",
        0, inPlaceWritten, inPlaceSeconds, "none", "low: one WAL transaction", false));
    // Option 1: regions.
    String regReason = unwritable != null ? unwritable
        : !needsRegions ? "the modules have no regions"
        : needsFields && claimed == null ? (fieldBytes <= sb.layout().paddingBytes()
            ? PaddingClaim.claimProblem(sb.layout(), modules)
            : "their inode fields (" + fieldBytes + " bytes) do not fit in the " + sb.layout().paddingBytes()
                + " padding bytes; they need a migration")
        : regionProblem;
    out.add(new OptionAnalysis(AdditionOption.REGION, regReason == null, regReason,
        "adds " + regions.entries() + " region(s) of " + regions.neededBlocks() + " blocks"
            + (needsFields ? " and claims " + fieldBytes + " padding bytes" : ""),
        0, inPlaceWritten, inPlaceSeconds, "none", "low: one WAL transaction", false));
    // Option 3: migration.
    InodeMigration.Plan mp = InodeMigration.plan(disk, modules);
    int ipbOld = dev.vde.inode.InodeCodec.perBlock(bs, sb.inodeSize());
    int ipbNew = mp.targetLayout().inodeSize() <= bs - 16
        ? dev.vde.inode.InodeCodec.perBlock(bs, mp.targetLayout().inodeSize()) : 1;
    long readOld = (mp.inodesToCopy() + ipbOld - 1) / ipbOld;
    long writeNew = (mp.inodesToCopy() + ipbNew - 1) / ipbNew;
    // A record every third of the default interval, at most one more per 8 MiB of new table (early positions,
    // InodeMigration), each one block, and the start's, swap's and completion's. The syncs behind the copy's records
    // run while it goes on; the time counts only the six or so at its end (the last record's two, the swap's record
    // and transaction, the completion's record and transaction).
    long records = mp.inodesToCopy() / Math.max(1, MigrationOptions.DEFAULT_CHECKPOINT_EVERY / 3)
        + writeNew * bs / InodeMigration.EARLY_POSITION_BYTES + 3;
    // Both the migration and the copy read every inode in use, the root's first: one that cannot be read stops them
    // at once (the migration rolls back). Damage elsewhere in the table stops them where it is; only reading the
    // whole table would find it beforehand, which is the verifier's work, not an analysis's.
    String rootDamage = damagedRootInode(v);
    String migReason = walDamage != null ? unwritable
        : cannotWrite != null ? cannotWrite
        : rootDamage != null ? rootDamage
        : !needsFields ? "the modules add no inode fields; there is nothing to grow"
        : mp.feasible() ? null : mp.reason();
    out.add(new OptionAnalysis(AdditionOption.MIGRATE, migReason == null, migReason,
        (mp.targetLayout().inodeSize() == sb.inodeSize()
            ? "rewrites every inode in the canonical layout (still " + sb.inodeSize() + " bytes)"
            : "grows every inode " + sb.inodeSize() + " -> " + mp.targetLayout().inodeSize() + " bytes")
            + ": new table of "
            + mp.newTableBlocks() + " blocks, " + mp.inodesToCopy() + " inodes copied, old table freed"
            + (needsRegions ? "; adds " + regions.entries() + " region(s)" : ""),
        readOld, writeNew + records, (readOld + writeNew) * bs / SEQUENTIAL_BYTES_PER_SECOND
            + 6 * SYNC_SECONDS,
        "none", "low: checkpointed, resumable after a crash, can be rolled back until the swap", false));
    // Option 4: copy.
    long live = ExtentAwareCopy.estimateCopyBlocks(disk);
    // A copy writes the new table only up to the block holding the highest live inode, not all of it.
    long newInodeBlocks = writeNew;
    // The copy's own plan decides, as the copy will: a count of blocks misses the extent-chain blocks that moving
    // data out from under the larger metadata can add.
    String copyReason = walDamage != null ? unwritable
        : rootDamage != null ? rootDamage
        : ExtentAwareCopy.planProblem(disk, CopyOptions.defaults()
            .sizeBytes(copy == null ? 0 : copy.sizeBytes()).modulesToAdd(java.util.EnumSet.copyOf(modules)));
    out.add(new OptionAnalysis(AdditionOption.COPY, copyReason == null, copyReason,
        "writes a new volume with the modules: copies " + live + " allocated blocks of " + sb.totalBlocks()
            + " and rewrites " + mp.inodesToCopy() + " inodes; the source is not changed",
        live + readOld, live + newInodeBlocks, (2 * live + readOld + newInodeBlocks) * bs
            / SEQUENTIAL_BYTES_PER_SECOND,
        "switch-over: applications must reopen the new file", "low: the source is only read; needs space for a second"
            + " volume", false));
    boolean picked = false;
    List<OptionAnalysis> marked = new ArrayList<>();
    for (OptionAnalysis o : out) {
      boolean rec = !picked && o.feasible();
      picked |= rec;
      marked.add(new OptionAnalysis(o.option(), o.feasible(), o.reason(), o.changes(), o.blocksRead(),
          o.blocksWritten(), o.estimatedSeconds(), o.downtime(), o.risk(), rec));
    }
    return new Analysis(List.copyOf(modules), marked);
  }

  /**
   * Why the in-place options cannot write to the host file, or null. An analysis opens the volume read-only (it
   * writes nothing), so the volume itself does not say whether a writable open would work; the host file does.
   * The copy only reads its source and is not affected.
   */
  private static String hostNotWritable(VirtualDisk disk) {
    java.nio.file.Path host = disk.path();
    if (host == null || java.nio.file.Files.isWritable(host)) {
      return null;
    }
    return "the host file is not writable, and this option changes it in place; make it writable, or copy the "
        + "volume to a new file (a copy only reads it)";
  }

  /**
   * Why the options that change the volume in place cannot run on its damaged allocation bitmap, or null. A bitmap
   * that marks metadata free makes every writable open read-only (a new block would be placed over that metadata),
   * and one whose blocks cannot be read makes a writable open fail; a read-only open, as an analysis makes, goes on
   * and shows neither. The copy only reads the volume and builds a new bitmap, so it is not affected.
   */
  private static String damagedBitmap(Volume v) {
    String what = v.metadataMarkedFree() != null ? "it marks metadata free"
        : !v.unreadableBitmapBlocks().isEmpty() ? v.unreadableBitmapBlocks().size() + " of its blocks cannot be read"
        : null;
    return what == null ? null : "the allocation bitmap is damaged (" + what + "; 'vde fsck' names the blocks), so "
        + "the volume cannot be opened for writing, and this option changes it in place; a copy only reads it and "
        + "writes a new bitmap";
  }

  /**
   * Why the root directory's inode cannot be read, or null: the migration and the copy would stop at it. Named with
   * the engine's own description of the damage (block and what is wrong).
   */
  private static String damagedRootInode(Volume v) throws IOException {
    try {
      v.withStableState(() -> v.readInode(dev.vde.inode.Inode.ROOT));
      return null;
    } catch (dev.vde.VdeCorruptedException e) {
      return "the inode table is damaged where the root directory's inode is (" + e.getOriginalMessage() + "); "
          + "this option reads every inode and would stop there; 'vde fsck' shows the damage";
    }
  }

  /** Why an analysis has nothing to run. */
  static VdeException nothingFeasible(Analysis a) {
    StringBuilder sb = new StringBuilder("no way to add " + InPlaceAddition.names(a.modules()) + ":");
    for (OptionAnalysis o : a.options()) {
      sb.append(' ').append(o.option().cliName()).append(": ").append(o.reason()).append(';');
    }
    return new VdeException(sb.toString());
  }
}
