package dev.vde.module.copy;

import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import dev.vde.fs.DirectoryBlockCodec;
import dev.vde.inode.Extent;
import dev.vde.inode.ExtentBlockCodec;
import dev.vde.inode.Inode;
import dev.vde.inode.InodeCodec;
import dev.vde.module.Tags;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * First pass over the source: reads the initialized part of the inode table block by block (never inode by
 * inode), follows every indirect extent chain, and lists every block an inode references with its owner and
 * type. It then checks the references against each other (no block used twice), against the metadata (no
 * inode maps a metadata block) and against the bitmap (every referenced block allocated), and decodes every Tags
 * field, so the copy never carries a structural inconsistency into the destination. Damage is reported as
 * {@link VdeCorruptedException} naming the block.
 */
final class InventoryScanner {
  /** Inode-table blocks per read (1 MiB of 4 KiB blocks). */
  private static final int TABLE_BATCH_BLOCKS = 256;

  private final SourceView src;
  private final CopyContext cx;
  private final long relocationZoneEnd;
  private final InodeLayout layout;
  /** The source's Tags field, or null: the one module field with an encoding, checked as the verifier does. */
  private final InodeLayout.Field tags;
  private final List<BlockRun> runs = new ArrayList<>();
  private final Map<Long, InodeRefs> inZone = new HashMap<>();
  /** The tree's facts, gathered when the source stands still (a scan while writers run sees no single tree). */
  private final TreeInventory tree;
  private long live;
  private long lastLive = 1;
  /** Files' partial last blocks, as {@link SourceInventory#lastBlockTails} holds them (sorted at the end). */
  private long[] tails = new long[64];
  private int tailCount;

  /**
   * @param relocationZoneEnd the destination's metadata end: inodes with blocks below it are remembered in full
   */
  private InventoryScanner(SourceView src, CopyContext cx, long relocationZoneEnd) {
    this.src = src;
    this.cx = cx;
    this.relocationZoneEnd = relocationZoneEnd;
    this.layout = src.sb.layout();
    this.tags = layout.fieldFor(Module.TAGS);
    this.tree = src.running ? null : new TreeInventory(src.resource, src.sb.inodeCount(), src.inodeTableStart(),
        InodeCodec.perBlock(src.blockSize, layout.inodeSize()));
  }

  static SourceInventory scan(SourceView src, CopyContext cx, long relocationZoneEnd) throws IOException {
    return new InventoryScanner(src, cx, relocationZoneEnd).run();
  }

  private SourceInventory run() throws IOException {
    int perBlock = InodeCodec.perBlock(src.blockSize, layout.inodeSize());
    long initBlocks = src.sb.inodeTableInitBlocks();
    long tableStart = src.inodeTableStart();
    TableReader table = new TableReader(src, tableStart, initBlocks, TABLE_BATCH_BLOCKS);
    cx.progress("scanning inodes", 0, initBlocks, "blocks");
    for (long i = 0; i < initBlocks; i++) {
      cx.io(1);
      int at = table.locate(i);
      byte[] b = table.array();
      for (int k = 0; k < perBlock; k++) {
        long n = i * perBlock + k;
        if (n == 0 || n >= src.sb.inodeCount()) {
          continue;
        }
        int off = at + k * layout.inodeSize();
        if (b[off + 4] != Inode.TYPE_FREE) {
          addInode(b, off, n, tableStart + i);
        }
      }
      cx.progress("scanning inodes", i + 1, initBlocks, "blocks");
    }
    runs.sort(Comparator.comparingLong(BlockRun::start));
    long referenced = checkRuns();
    if (tree != null) {
      tree.check();
    }
    long[] lastBlockTails = Arrays.copyOf(tails, tailCount);
    Arrays.sort(lastBlockTails);
    return new SourceInventory(List.copyOf(runs), referenced, src.allocatedDataBlocks(), live, lastLive,
        Map.copyOf(inZone), lastBlockTails);
  }

  private void addInode(byte[] b, int off, long n, long tableBlock) throws IOException {
    Inode ino = InodeCodec.read(b, off, n, layout);
    if (ino.number() != n) {
      throw corrupt(tableBlock, "inode table", "slot of inode " + n + " holds inode number " + ino.number());
    }
    if (!ino.isFile() && !ino.isDirectory()) {
      throw corrupt(tableBlock, "inode table", "inode " + n + " has unknown type " + ino.type());
    }
    String damaged = recordDamage(b, off, ino);
    if (damaged != null) {
      throw corrupt(tableBlock, "inode table", "inode " + n + " " + damaged + TreeInventory.SUFFIX);
    }
    if (tags != null) {
      try {
        Tags.decode(Arrays.copyOfRange(b, off + tags.offset(), off + tags.end()), "inode " + n);
      } catch (VdeCorruptedException e) {
        // Every read of the file's tags fails on it, and the verifier names it: a copy would hand that on to a
        // volume that looks new, and a verifying copy would blame itself for it.
        throw corrupt(tableBlock, "inode table", e.getMessage() + "; a copy does not carry damage into a new volume: "
            + "clear the field (VirtualDisk.writeModuleField) or copy the files out with 'vde get'");
      }
    }
    long extentCount = InodeCodec.storedExtentCount(b, off);
    List<Extent> extents = new ArrayList<>(ino.extents());
    List<Long> chain = new ArrayList<>();
    if (extentCount > Inode.INLINE_EXTENTS) {
      readChain(ino, extentCount - Inode.INLINE_EXTENTS, extents, chain);
    }
    BlockType type = ino.isFile() ? BlockType.DATA : BlockType.DIRECTORY;
    long prevLogicalEnd = 0;
    long payload = src.blockSize - BlockCodec.TRAILER_SIZE;
    long sizeBlocks = ino.size() / payload + (ino.size() % payload == 0 ? 0 : 1);
    boolean touchesZone = false;
    for (Extent e : extents) {
      // Ends compared without overflow, as the engine's own reads do: a start or a logical start near
      // Long.MAX_VALUE wraps its end around and would pass, and the copy would carry the extent into a new volume.
      if (e.count() <= 0 || e.start() <= 0 || e.start() > src.totalBlocks() - e.count()
          || e.logical() < prevLogicalEnd || e.logical() > Long.MAX_VALUE - e.count()) {
        throw corrupt(tableBlock, "inode table", "inode " + n + " has a bad extent (logical " + e.logical()
            + ", start " + e.start() + ", count " + e.count() + ")");
      }
      // Not while writers run: a chain read a moment after its inode may already hold an append the inode's size
      // does not have yet, and sending the scan back for that would only lengthen the pause.
      if (!src.running && e.logicalEnd() > sizeBlocks) {
        throw corrupt(tableBlock, "inode table", "inode " + n + " maps logical blocks up to " + (e.logicalEnd() - 1)
            + ", past the end of its size of " + ino.size() + " bytes" + TreeInventory.SUFFIX);
      }
      prevLogicalEnd = e.logicalEnd();
      if (ino.isFile() && ino.size() % payload != 0 && e.logicalEnd() == sizeBlocks) {
        // The block holding the file's end: the copy carries it byte for byte, bytes past the end included.
        addTail(e.start() + e.count() - 1, (int) (ino.size() % payload));
      }
      runs.add(new BlockRun(e.start(), e.count(), n, type));
      touchesZone |= e.start() < relocationZoneEnd;
    }
    if (tree != null) {
      tree.inode(ino);
      if (ino.isDirectory()) {
        readDirectory(ino, extents, tableBlock);
      }
    }
    for (long c : chain) {
      runs.add(new BlockRun(c, 1, n, BlockType.EXTENT));
      touchesZone |= c < relocationZoneEnd;
    }
    if (touchesZone) {
      inZone.put(n, new InodeRefs(n, extents, chain));
    }
    live++;
    lastLive = Math.max(lastLive, n);
  }

  private void addTail(long block, int bytes) {
    if (tailCount == tails.length) {
      tails = Arrays.copyOf(tails, tailCount * 2);
    }
    tails[tailCount++] = block << 16 | bytes;
  }

  /**
   * What is wrong with the in-use record at {@code off} that the copy would carry over byte for byte (the core is
   * copied as it is), or null: the rules the verifier holds a record to (FORMAT.md sections 9 and 12), whose
   * breach would make the new volume fail {@code vde fsck} at once, and a verifying copy blame itself.
   */
  private static String recordDamage(byte[] b, int off, Inode ino) {
    if (ino.flags() != 0) {
      return "has flags 0x" + Integer.toHexString(ino.flags()) + " in its reserved flags byte (5), expected 0";
    }
    if (!InodeCodec.reservedCoreZero(b, off)) {
      return "has non-zero reserved core bytes (72..79 or 272..303)";
    }
    if (ino.size() < 0) {
      return "has negative size " + ino.size();
    }
    long count = InodeCodec.storedExtentCount(b, off);
    for (int i = 0; i < Inode.INLINE_EXTENTS; i++) {
      int at = off + 80 + i * Extent.SIZE;
      if (i < count ? !Bytes.isZero(b, at + 20, 4) : !Bytes.isZero(b, at, Extent.SIZE)) {
        return i < count ? "extent " + i + " has non-zero reserved bytes 20..23"
            : "has " + count + " extents but unused inline extent slot " + i + " is not zero";
      }
    }
    if (count <= Inode.INLINE_EXTENTS && ino.indirectBlock() != 0) {
      return "has " + count + " extents, all inline, but names indirect block " + ino.indirectBlock()
          + " (expected 0)";
    }
    return null;
  }

  /**
   * Checks that directory {@code dir} maps blocks 0 .. n-1 without holes, as its size says, and hands the entries of
   * those blocks to the tree inventory. Its extents are already known to lie in the volume.
   */
  private void readDirectory(Inode dir, List<Extent> extents, long tableBlock) throws IOException {
    long mapped = 0;
    long total = 0;
    for (Extent e : extents) {
      if (e.logical() == mapped && mapped == total) {
        mapped += e.count();
      }
      total += e.count();
    }
    long payload = src.blockSize - BlockCodec.TRAILER_SIZE;
    if (mapped != total || dir.size() != mapped * payload) {
      throw corrupt(tableBlock, "inode table", "directory inode " + dir.number() + " has size " + dir.size()
          + " but maps " + total + " blocks, " + mapped + " of them from block 0 on without a hole"
          + TreeInventory.SUFFIX);
    }
    java.util.Set<String> names = new java.util.HashSet<>();
    for (Extent e : extents) {
      for (long blk = e.start(); blk < e.end(); blk++) {
        cx.io(1);
        byte[] b = src.readMetadata(blk, BlockType.DIRECTORY);
        if (BlockCodec.storedGeneration(b) != (int) dir.number()) {
          throw corrupt(blk, "directory", "directory block belongs to inode "
              + Integer.toUnsignedLong(BlockCodec.storedGeneration(b)) + ", but directory inode " + dir.number()
              + " maps it");
        }
        tree.entries(dir.number(), blk, DirectoryBlockCodec.read(b, blk, src.resource), names);
        // Carried over byte for byte, so held to the verifier's rule: an entry left there is invisible to every
        // reader, and the next name added writes over part of it.
        int end = DirectoryBlockCodec.HEADER_SIZE + Bytes.u16(b, 2);
        if (!Bytes.isZero(b, 4, 4) || !Bytes.isZero(b, end, (int) payload - end)) {
          throw corrupt(blk, "directory", "directory block of inode " + dir.number() + " has non-zero reserved "
              + "bytes 4..7 or bytes after its entries" + TreeInventory.SUFFIX);
        }
      }
    }
  }

  /**
   * Follows an indirect chain holding {@code expected} extents, refusing cycles, strangers and overlong chains
   * (every block holds at least one extent, so more than {@code expected} blocks run on).
   */
  private void readChain(Inode ino, long expected, List<Extent> into, List<Long> chainBlocks) throws IOException {
    long maxBlocks = expected;
    long next = ino.indirectBlock();
    long got = 0;
    while (got < expected) {
      if (next <= 0 || next >= src.totalBlocks() || chainBlocks.size() >= maxBlocks) {
        throw corrupt(next, BlockType.EXTENT.structure(), "chain of inode " + ino.number() + " ends after " + got
            + " of " + expected + " extents");
      }
      cx.io(1);
      byte[] b = src.readMetadata(next, BlockType.EXTENT);
      int owner = BlockCodec.storedGeneration(b);
      if (owner != (int) ino.number()) {
        throw corrupt(next, BlockType.EXTENT.structure(), "extent block belongs to inode "
            + Integer.toUnsignedLong(owner) + ", but inode " + ino.number() + " chains it");
      }
      ExtentBlockCodec.Decoded d = ExtentBlockCodec.read(b, next, src.resource);
      if (d.extents().isEmpty()) {
        throw corrupt(next, BlockType.EXTENT.structure(), "empty block in the chain of inode " + ino.number());
      }
      int end = ExtentBlockCodec.HEADER_SIZE + d.extents().size() * Extent.SIZE;
      boolean reservedZero = Bytes.isZero(b, 4, 4) && Bytes.isZero(b, end, b.length - BlockCodec.TRAILER_SIZE - end);
      for (int k = 0; k < d.extents().size() && reservedZero; k++) {
        reservedZero = Bytes.isZero(b, ExtentBlockCodec.HEADER_SIZE + k * Extent.SIZE + 20, 4);
      }
      if (!reservedZero) {
        // A chain that is not rebuilt is carried over byte for byte, so it is held to the verifier's rule.
        throw corrupt(next, BlockType.EXTENT.structure(), "chain block of inode " + ino.number() + " has non-zero "
            + "reserved bytes or bytes after its extents" + TreeInventory.SUFFIX);
      }
      chainBlocks.add(next);
      into.addAll(d.extents());
      got += d.extents().size();
      next = d.next();
    }
    if (got != expected) {
      throw corrupt(ino.indirectBlock(), BlockType.EXTENT.structure(), "chain of inode " + ino.number() + " holds "
          + got + " extents, the inode says " + expected);
    }
    if (next != 0) {
      // Which extents are the file's is unknown, and the copy would carry a chain that runs on into a new volume.
      throw corrupt(chainBlocks.get(chainBlocks.size() - 1), BlockType.EXTENT.structure(), "chain of inode "
          + ino.number() + " goes on past its " + expected + " extents: its last block points on to block " + next);
    }
  }

  /** Checks the sorted runs; returns the number of blocks they cover. */
  private long checkRuns() throws VdeCorruptedException {
    long blocks = 0;
    BlockRun prev = null;
    for (BlockRun r : runs) {
      if (prev != null && r.start() < prev.end()) {
        throw corrupt(r.start(), "allocation", "block " + r.start() + " is used by inode " + prev.owner()
            + " and by inode " + r.owner());
      }
      long[] meta = src.metadataOverlapping(r.start(), r.count());
      if (meta != null) {
        throw corrupt(Math.max(r.start(), meta[0]), "allocation", "inode " + r.owner() + " maps a block of the "
            + src.describeMetadata(meta));
      }
      long free = src.running ? -1 : src.firstFreeIn(r.start(), r.count());
      if (free >= 0) {
        throw corrupt(free, "allocation bitmap", "block " + free + " is used by inode " + r.owner()
            + " but free in the bitmap");
      }
      blocks += r.count();
      prev = r;
    }
    return blocks;
  }

  private VdeCorruptedException corrupt(long block, String structure, String what) {
    return new VdeCorruptedException(block, structure, what, src.resource);
  }
}
