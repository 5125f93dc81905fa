package dev.vde.module;

import dev.vde.VdeException;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.VdeNoSpaceException;
import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.VirtualDisk;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Options 1 and 2 executed: add modules whose inode fields fit in the current padding, with their regions, in
 * ONE WAL transaction that marks the regions' blocks allocated, adds their region-directory entries, and writes
 * the superblock with the new manifest, layout, feature masks and free count.
 *
 * <p>Crash argument: the transaction is a single WAL commit (Journal steps 2-4). A crash before the commit
 * record is durable leaves the volume exactly as before (the region blocks were only reserved in memory); after
 * it, recovery replays bitmap, directory and superblock together. No inode is written, so there is no
 * intermediate state to clean up. Every check (module known and inactive, fields fit, regions fit, room in the
 * region directory, the transaction fits in the WAL) happens before anything is written.
 */
public final class InPlaceAddition {
  private InPlaceAddition() {}

  /** Checks that {@code modules} can be added in place; returns the region plan. Writes nothing. */
  public static RegionPlan preflight(VirtualDisk disk, List<Module> modules) throws IOException {
    Superblock sb = disk.volume().superblock();
    checkInactive(sb, modules);
    InodeLayout after = PaddingClaim.claimAll(sb.layout(), modules);
    if (after == null) {
      int need = modules.stream().mapToInt(Module::inodeBytes).sum();
      if (need <= sb.layout().paddingBytes()) {
        throw new VdeInvalidArgumentException("cannot add " + names(modules) + " in place: "
            + PaddingClaim.claimProblem(sb.layout(), modules));
      }
      throw new VdeInvalidArgumentException(names(modules) + " need " + need + " inode bytes but only "
          + sb.layout().paddingBytes() + " bytes of inode padding are free; add with --option migrate (grows every"
          + " inode online) or --option copy (new volume)");
    }
    RegionPlan plan = RegionPlan.plan(disk.volume().plannableWords(), sb.totalBlocks(), modules);
    if (!plan.feasible()) {
      throw new VdeNoSpaceException("not enough contiguous free space for region " + plan.failedRegion()
          + ": the modules need " + plan.neededBlocks() + " blocks in " + countRegions(modules)
          + " contiguous run(s); the largest free run is " + plan.largestFreeRun() + " blocks"
          + disk.volume().heldFreedSpaceNote());
    }
    int room = RegionDirectory.entriesPerBlock(sb.blockSize()) * sb.regionDirBlocks();
    if (disk.volume().regions().entries().size() + plan.entries() > room) {
      throw new VdeException("region directory is full (" + room + " entries)");
    }
    String wal = disk.volume().formatChangeWalProblem(plan.runs());
    if (wal != null) {
      throw new VdeException("cannot add " + names(modules) + " in place: " + wal + "; "
          + (modules.size() > 1 ? "add the modules one at a time, or " : "") + "add with --option copy (new volume)");
    }
    return plan;
  }

  static void checkInactive(Superblock sb, List<Module> modules) throws VdeInvalidArgumentException {
    if (modules == null || modules.isEmpty()) {
      throw new VdeInvalidArgumentException("no modules given: name at least one module to add");
    }
    for (Module m : modules) {
      // Not contains(null), which List.of lists answer with a NullPointerException.
      if (m == null) {
        throw new VdeInvalidArgumentException("the modules to add include null: " + modules);
      }
    }
    if ((sb.incompat() & Superblock.INCOMPAT_MIGRATION_PENDING) != 0) {
      throw new VdeInvalidArgumentException("an inode migration is pending; finish it with 'vde migrate resume' "
          + "or undo it with 'vde migrate rollback' before adding modules");
    }
    long seen = 0;
    for (Module m : modules) {
      if ((sb.moduleManifest() & m.bit()) != 0) {
        throw new VdeInvalidArgumentException("module " + m.displayName() + " (" + m.abbreviation()
            + ") is already active on this volume");
      }
      if ((seen & m.bit()) != 0) {
        throw new VdeInvalidArgumentException("module " + m.displayName() + " is listed twice");
      }
      seen |= m.bit();
    }
  }

  private static int countRegions(List<Module> modules) {
    return modules.stream().mapToInt(m -> m.regions().size()).sum();
  }

  static String names(List<Module> modules) {
    List<String> n = new ArrayList<>();
    for (Module m : modules) {
      n.add(m.displayName());
    }
    return String.join(", ", n);
  }

  /**
   * Adds {@code modules} (fields into padding, regions into free space) in one transaction; returns the regions
   * placed. The checks of {@link #preflight} run again inside the transaction, under the writer lock, so a
   * concurrent writer cannot invalidate them.
   */
  public static List<RegionDirectory.Entry> add(VirtualDisk disk, List<Module> modules) throws IOException {
    preflight(disk, modules);
    return disk.changeFormat(tx -> {
      Superblock sb = tx.superblock();
      checkInactive(sb, modules);
      InodeLayout after = PaddingClaim.claimAll(sb.layout(), modules);
      if (after == null) {
        throw new VdeInvalidArgumentException(names(modules) + " no longer fit in the inode padding");
      }
      RegionDirectory rd = tx.regions();
      List<RegionDirectory.Entry> placed = new ArrayList<>();
      // The preflight placed the regions on free space that includes blocks freed since the last checkpoint;
      // allocating first-fit without them, a small region could take the run kept for a larger one.
      if (modules.stream().anyMatch(m -> !m.regions().isEmpty())) {
        tx.reclaimFreedBlocks();
      }
      for (Module m : modules) {
        for (Module.Region r : m.regions()) {
          long n = r.blocksFor(sb.totalBlocks());
          long start = tx.allocateContiguous(n);
          RegionDirectory.Entry e = RegionDirectory.Entry.forModule(m, r, start, n);
          rd = rd.with(e);
          placed.add(e);
        }
      }
      if (!placed.isEmpty()) {
        tx.setRegions(rd);
      }
      long manifest = sb.moduleManifest() | Module.manifestOf(modules);
      tx.setSuperblock(sb.withManifest(manifest, after));
      return placed;
    });
  }
}
