package dev.vde.module.copy;

import dev.vde.VdeFormatTooNewException;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.VdeNoSpaceException;
import dev.vde.format.Superblock;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.BlockDevice;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

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
 *       crashed checkpoint leaves too, and a writable open repairs it.</li>
 * </ol>
 * A failure (damaged source block, cancellation, full host disk) removes a destination file this copy created;
 * one that cannot be removed still carries the mark.
 *
 * <h2>A source in use</h2>
 * The source may be open and used by other threads. The copy holds its writers off while it reads the source
 * ({@code Volume.withWritersPaused}: the writer lock, then the read side of the state lock), so the bitmap, the
 * inode table and every referenced block stay as scanned; readers carry on. Once the data, directory and extent
 * blocks and the inode table are written, the rest (region directory, bitmap, the sync of everything and the
 * superblocks) comes from the plan alone, so the writers resume before it: the destination's final sync, most of
 * a large copy's time, no longer holds them off. With {@code verify} they stay paused until the comparison with
 * the source is done. {@link CopyResult#pauseMillis} reports the pause. It could shrink to a moment with a
 * pre-copy: copy while writers run, tracking the blocks transactions publish and free, then pause only to re-copy
 * the blocks dirtied meanwhile (and the inode table, which is rebuilt anyway), repeating while the dirty set
 * shrinks, as live VM migration does with memory pages. Copy-on-write file data makes that tracking cheap: data
 * blocks never change in place, so only newly allocated blocks and journaled metadata blocks can be dirty.
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
    PathDestination target = PathDestination.check(source, destination, options.force());
    long started = System.nanoTime();
    long[] pause = new long[2];
    BlockDevice[] dev = new BlockDevice[1];
    CopyContext cx = new CopyContext(options, destination.toString());
    try {
      // With --verify the source is compared with the finished copy, so it must not change until then.
      Copied copied = source.volume().withWritersPaused(() -> {
        pause[0] = System.nanoTime();
        SourceView src = SourceView.of(source.volume());
        CopyPlan plan = plan(src, options, cx);
        target.ensureRoom(plan.blocksToWrite() * src.blockSize);
        dev[0] = target.create();
        DestinationWriter writer = copySource(src, plan, dev[0], cx);
        if (options.verify()) {
          completeAndVerify(source, destination, src, plan, writer, dev[0], cx);
        }
        pause[1] = System.nanoTime();
        return new Copied(src, plan, writer);
      });
      if (!options.verify()) {
        // Everything still to do is written from the plan; the source is not read again, so its writers go on.
        complete(copied.writer(), dev[0], cx);
      }
      return result(copied.src(), copied.plan(), started, pause, options.verify());
    } catch (IOException e) {
      closeQuietly(dev[0]);
      target.removePartial();
      throw explain(e, destination.toString(), "the partial copy was removed");
    } catch (RuntimeException | Error e) {
      closeQuietly(dev[0]);
      target.removePartial();
      throw e;
    }
  }

  /** What the paused part of a copy leaves for the rest: the source as read, the plan, the destination's writer. */
  private record Copied(SourceView src, CopyPlan plan, DestinationWriter writer) {}

  private static void completeAndVerify(VirtualDisk source, Path destination, SourceView src, CopyPlan plan,
      DestinationWriter writer, BlockDevice dev, CopyContext cx) throws IOException {
    complete(writer, dev, cx);
    try (VirtualDisk copy = VirtualDisk.open(destination, OpenOptions.readOnlyOptions())) {
      CopyVerifier.verify(source, copy, plan, cx);
    }
  }

  /** Finishes a destination whose source blocks are all written, and closes it. */
  private static void complete(DestinationWriter writer, BlockDevice dev, CopyContext cx) throws IOException {
    writer.writeRegionsAndBitmap();
    cx.progress("syncing", 0, 1, "steps");
    writer.finish();
    cx.progress("syncing", 1, 1, "steps");
    dev.close();
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
    long started = System.nanoTime();
    long[] pause = new long[2];
    CopyContext cx = new CopyContext(options, destination.describe());
    try {
      Copied copied = source.volume().withWritersPaused(() -> {
        pause[0] = System.nanoTime();
        SourceView src = SourceView.of(source.volume());
        CopyPlan plan = plan(src, options, cx);
        DestinationWriter writer = copySource(src, plan, destination, cx);
        if (options.verify()) {
          writer.writeRegionsAndBitmap();
          writer.finish();
          try (VirtualDisk copy = VirtualDisk.open(new UnclosableDevice(destination),
              OpenOptions.readOnlyOptions())) {
            CopyVerifier.verify(source, copy, plan, cx);
          }
        }
        pause[1] = System.nanoTime();
        return new Copied(src, plan, writer);
      });
      if (!options.verify()) {
        copied.writer().writeRegionsAndBitmap();
        cx.progress("syncing", 0, 1, "steps");
        copied.writer().finish();
        cx.progress("syncing", 1, 1, "steps");
      }
      return result(copied.src(), copied.plan(), started, pause, options.verify());
    } catch (IOException e) {
      throw explain(e, destination.describe(), "the device holds an incomplete copy");
    }
  }

  /**
   * Blocks a copy of {@code source} would transfer, known before copying: the allocated blocks of its data area
   * (everything the bitmap marks outside superblocks, region directory and regions).
   */
  public static long estimateCopyBlocks(VirtualDisk source) throws IOException {
    requireOpen(source);
    return source.volume().withStableState(() -> SourceView.of(source.volume()).allocatedDataBlocks());
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
    if ((src.sb.incompat() & Superblock.INCOMPAT_MIGRATION_PENDING) != 0) {
      throw new VdeInvalidArgumentException("an inode migration is in progress on " + src.resource
          + "; let it finish (open the volume writable) before copying");
    }
    DestinationGeometry geometry = DestinationGeometry.of(src.sb, options);
    SourceInventory inventory = InventoryScanner.scan(src, cx, geometry.metadataEnd());
    return RelocationPlanner.plan(geometry, inventory);
  }

  /**
   * The first half of the write order the crash argument in the class comment rests on: marks the destination
   * incomplete, then writes everything read from the source (data, directory and extent blocks, rebuilt extent
   * blocks, the inode table). The rest ({@link DestinationWriter#writeRegionsAndBitmap}, then
   * {@link DestinationWriter#finish}) is derived from the plan alone and needs the source no more.
   */
  private static DestinationWriter copySource(SourceView src, CopyPlan plan, BlockDevice dev, CopyContext cx)
      throws IOException {
    DestinationWriter writer = new DestinationWriter(dev, src, plan, cx);
    writer.begin();
    new BlockMover(src, dev, cx).move(plan.transfers());
    writer.writeRebuiltBlocks();
    new InodeTableWriter(src, plan, dev, cx).write();
    return writer;
  }

  private static CopyResult result(SourceView src, CopyPlan plan, long started, long[] pause, boolean verified) {
    long now = System.nanoTime();
    long total = src.totalBlocks();
    return new CopyResult(total, plan.blocksCopied(), total - plan.blocksCopied(), plan.blocksRelocated(),
        plan.extentBlocksAdded(), plan.inventory().liveInodes(), plan.blocksCopied() * src.blockSize,
        Duration.ofNanos(now - started), (pause[1] - pause[0]) / 1_000_000, verified,
        plan.geometry().addedModules(), plan.geometry().modules());
  }

  /** The host's "no space left" becomes an engine error that says what became of the destination. */
  private static IOException explain(IOException e, String destination, String aftermath) {
    if (PathDestination.isNoSpace(e)) {
      return new VdeNoSpaceException("no space left for " + destination + " while copying (" + e.getMessage()
          + "); " + aftermath);
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
