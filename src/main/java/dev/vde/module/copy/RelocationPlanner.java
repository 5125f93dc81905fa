package dev.vde.module.copy;

import dev.vde.VdeException;
import dev.vde.VdeNoSpaceException;
import dev.vde.alloc.AllocationBitmap;
import dev.vde.alloc.FreeSpaceScanner;
import dev.vde.format.BlockType;
import dev.vde.inode.Extent;
import dev.vde.inode.ExtentBlockCodec;
import dev.vde.inode.ExtentMap;
import dev.vde.inode.Inode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Decides where every referenced source block goes in the destination.
 *
 * <p>A block keeps its number when that number is in the destination's data area: then neither the extents that
 * point at it nor the extent blocks that list it change, and the copy is a plain transfer. A block whose number
 * falls inside the destination's metadata (whose inode table or module regions are larger than the source's) is
 * relocated: it goes to free destination space, first fit from the end of the metadata, split over several free
 * runs if need be. The inodes owning relocated blocks get a new extent list (an extent may split, so a file may
 * now need indirect extent blocks, or more of them); their chains are rebuilt in place of the old chain blocks,
 * plus new blocks when the chain grew.
 *
 * <p>Everything happens in memory, on the destination's bitmap; a shortage of space fails here, before the
 * destination is touched.
 */
final class RelocationPlanner {
  private final DestinationGeometry geometry;
  private final SourceInventory inventory;
  private final AllocationBitmap dest;
  private final long[] destWords;
  private final long zoneEnd;
  private final long total;
  private final int blockSize;
  /** Relocated transfers by source block, to map any source block number to its destination. */
  private final TreeMap<Long, Transfer> relocated = new TreeMap<>();
  private final List<Transfer> transfers = new ArrayList<>();
  private final TreeMap<Long, byte[]> rebuilt = new TreeMap<>();
  private final Map<Long, InodePatch> patches = new HashMap<>();
  /** Where the next relocated block is looked for: first fit, moving forward. */
  private long cursor;
  /**
   * Source chain blocks of the inodes rewritten (their extents carried over, re-encoded), and the rebuilt chain
   * blocks that take the place of one of them at another number.
   */
  private long chainBlocksReplaced;
  private long chainBlocksMoved;
  /** Rebuilt chain blocks beyond the old chain's length. */
  private long chainBlocksAdded;

  private RelocationPlanner(DestinationGeometry geometry, SourceInventory inventory) throws VdeException {
    this.geometry = geometry;
    this.inventory = inventory;
    this.total = geometry.totalBlocks();
    this.blockSize = geometry.blockSize();
    this.dest = AllocationBitmap.empty(total, blockSize);
    this.destWords = dest.durableWords();
    this.zoneEnd = geometry.metadataEnd();
    this.cursor = zoneEnd;
  }

  /**
   * @throws VdeNoSpaceException if the data does not fit
   * @throws VdeException if the heap cannot hold the destination's bitmap
   */
  static CopyPlan plan(DestinationGeometry geometry, SourceInventory inventory) throws VdeException {
    return new RelocationPlanner(geometry, inventory).run();
  }

  private CopyPlan run() throws VdeNoSpaceException {
    dest.publishAllocated(0, zoneEnd);
    relocate(keepInPlace());
    rewriteRelocatedInodes();
    transfers.sort(Comparator.comparingLong(Transfer::src));
    long copied = 0;
    long moved = chainBlocksMoved;
    for (Transfer t : transfers) {
      copied += t.count();
      moved += t.relocated() ? t.count() : 0;
    }
    return new CopyPlan(geometry, inventory, List.copyOf(transfers), rebuilt, Map.copyOf(patches), dest,
        copied + chainBlocksReplaced, moved, chainBlocksAdded, 0);
  }

  /** Plans the blocks at or past the destination's metadata end as they are; returns the parts below it. */
  private List<BlockRun> keepInPlace() throws VdeNoSpaceException {
    List<BlockRun> displaced = new ArrayList<>();
    long displacedBlocks = 0;
    for (BlockRun r : inventory.runs()) {
      long keepFrom = Math.max(r.start(), zoneEnd);
      if (keepFrom < r.end()) {
        dest.publishAllocated(keepFrom, r.end() - keepFrom);
        transfers.add(new Transfer(keepFrom, keepFrom, (int) (r.end() - keepFrom), r.owner(), r.type()));
      }
      if (r.start() < zoneEnd) {
        BlockRun low = new BlockRun(r.start(), (int) (Math.min(r.end(), zoneEnd) - r.start()), r.owner(), r.type());
        displaced.add(low);
        displacedBlocks += low.count();
      }
    }
    if (displacedBlocks > dest.durableFree()) {
      throw shortage(displacedBlocks);
    }
    return displaced;
  }

  /** Gives every displaced run a new place, split over as many free runs as it takes. */
  private void relocate(List<BlockRun> displaced) throws VdeNoSpaceException {
    for (BlockRun r : displaced) {
      long done = 0;
      while (done < r.count()) {
        long[] got = take(r.count() - done);
        Transfer t = new Transfer(r.start() + done, got[0], (int) got[1], r.owner(), r.type());
        transfers.add(t);
        relocated.put(t.src(), t);
        done += got[1];
      }
    }
  }

  /**
   * New extents and a rebuilt chain for every inode that owns a relocated block, in inode order so the plan is
   * the same every time. The old chain blocks are then written from the new content instead of copied.
   */
  private void rewriteRelocatedInodes() throws VdeNoSpaceException {
    Set<Long> owners = new TreeSet<>();
    for (Transfer t : relocated.values()) {
      owners.add(t.owner());
    }
    Set<Long> oldChains = new HashSet<>();
    for (long owner : owners) {
      InodeRefs refs = inventory.inodesInRelocationZone().get(owner);
      List<Extent> extents = remap(refs.extents());
      List<Long> chain = rebuildChain(refs, extents);
      patches.put(owner, new InodePatch(extents, chain.isEmpty() ? 0 : chain.get(0)));
      oldChains.addAll(refs.chainBlocks());
      // Every old chain block: its extents reach the copy, in a rebuilt chain block or, when the moved pieces join
      // into fewer extents, in the inode itself. Counting only those a rebuilt block replaces made the copy report
      // fewer blocks copied than the source has allocated, and the rest as skipped.
      chainBlocksReplaced += refs.chainBlocks().size();
      chainBlocksAdded += Math.max(0, chain.size() - refs.chainBlocks().size());
    }
    transfers.removeIf(t -> t.type() == BlockType.EXTENT && oldChains.contains(t.src()));
  }

  /** Takes up to {@code want} free destination blocks, first fit from the cursor; returns {start, count}. */
  private long[] take(long want) throws VdeNoSpaceException {
    long s = FreeSpaceScanner.nextClear(destWords, cursor, total);
    if (s >= total) {
      s = FreeSpaceScanner.nextClear(destWords, zoneEnd, total);
      if (s >= total) {
        throw shortage(want);
      }
    }
    long e = FreeSpaceScanner.nextSet(destWords, s, Math.min(total, s + want));
    dest.publishAllocated(s, e - s);
    cursor = e;
    return new long[] {s, e - s};
  }

  /** Where source block {@code b} lands. */
  private long destinationOf(long b) {
    Map.Entry<Long, Transfer> f = relocated.floorEntry(b);
    if (f != null && b < f.getValue().srcEnd()) {
      return f.getValue().dst() + (b - f.getKey());
    }
    return b;
  }

  /** The extents with every relocated part pointing at its new place, merged where the new places touch. */
  private List<Extent> remap(List<Extent> extents) {
    List<Extent> out = new ArrayList<>();
    for (Extent e : extents) {
      long pos = e.start();
      while (pos < e.end()) {
        Map.Entry<Long, Transfer> f = relocated.floorEntry(pos);
        long len;
        long to;
        if (f != null && pos < f.getValue().srcEnd()) {
          len = Math.min(e.end(), f.getValue().srcEnd()) - pos;
          to = f.getValue().dst() + (pos - f.getKey());
        } else {
          Long next = relocated.higherKey(pos);
          len = (next == null ? e.end() : Math.min(e.end(), next)) - pos;
          to = pos;
        }
        out.add(new Extent(e.logical() + (pos - e.start()), to, (int) len));
        pos += len;
      }
    }
    return ExtentMap.normalize(out);
  }

  /**
   * Encodes the chain for {@code extents} (extents past the eighth), reusing the old chain blocks' new places
   * first, then new blocks; old chain blocks left over are given back. Returns the chain's destination blocks.
   */
  private List<Long> rebuildChain(InodeRefs refs, List<Extent> extents) throws VdeNoSpaceException {
    int per = ExtentBlockCodec.perBlock(blockSize);
    int tail = Math.max(0, extents.size() - Inode.INLINE_EXTENTS);
    int need = (tail + per - 1) / per;
    List<Long> blocks = new ArrayList<>(need);
    for (int i = 0; i < refs.chainBlocks().size(); i++) {
      long at = destinationOf(refs.chainBlocks().get(i));
      if (i < need) {
        blocks.add(at);
        chainBlocksMoved += at != refs.chainBlocks().get(i) ? 1 : 0;
      } else {
        dest.publishFreed(at, 1);
      }
    }
    while (blocks.size() < need) {
      blocks.add(take(1)[0]);
    }
    for (int i = 0; i < need; i++) {
      int from = Inode.INLINE_EXTENTS + i * per;
      List<Extent> part = extents.subList(from, Math.min(extents.size(), from + per));
      long next = i + 1 < need ? blocks.get(i + 1) : 0;
      rebuilt.put(blocks.get(i), ExtentBlockCodec.write(blockSize, part, next, refs.number()));
    }
    return blocks;
  }

  private VdeNoSpaceException shortage(long wanted) {
    return new VdeNoSpaceException("the data does not fit in the destination: its metadata takes blocks 0.."
        + (zoneEnd - 1) + " (the source's ends earlier), so " + wanted + " more blocks must move into free space "
        + "and only " + dest.durableFree() + " of " + total + " blocks are free there; copy to a larger volume "
        + "('vde copy --size', CopyOptions.sizeBytes) or delete files first", true);
  }
}
