package dev.vde.format;

import dev.vde.VdeCorruptedException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The table of regions: which contiguous block ranges hold the bitmap, the inode table, the metadata WAL, the
 * migration checkpoint and each module's regions. Stored in {@code regionDirBlocks} blocks tagged RDIR starting
 * at {@code regionDirStart}; each block holds {@code u32 count, u32 0} and then {@code count} entries of 24
 * bytes: {@code u32 tag, u32 flags, u64 start, u64 blocks}.
 *
 * <p>Invariant: regions do not overlap each other or blocks 0..regionDirStart+regionDirBlocks-1, and lie inside
 * the volume; a core region has one of the core tags. {@link #problems(long, long)} checks it; the verifier
 * reports it. {@link #read} refuses a core tag it does not know outright, naming the block of the entry.
 */
public record RegionDirectory(List<Entry> entries) {
  public static final int ENTRY_SIZE = 24;
  public static final int HEADER_SIZE = 8;
  /** Entries the directory is sized for at create time. */
  public static final int CAPACITY = 64;

  public static final int TAG_BITMAP = BlockType.BITMAP.tag();
  public static final int TAG_INODES = BlockType.INODE_TABLE.tag();
  public static final int TAG_WAL = BlockType.WAL_DESCRIPTOR.tag();
  public static final int TAG_CHECKPOINT = BlockType.MIGRATION_CHECKPOINT.tag();
  /** The migration-checkpoint region's size: one block for each of its two record slots. */
  public static final long CHECKPOINT_BLOCKS = 2;
  /** The new inode table of a pending migration, before the swap. */
  public static final int TAG_INODES_NEW = BlockType.tagOf("INOM");
  /** The previous inode table of a migration, after the swap and until it is freed. */
  public static final int TAG_INODES_OLD = BlockType.tagOf("INOO");

  /** flags bit 0: the region belongs to a module, whose id is in bits 8..15. */
  public static final int FLAG_MODULE = 1;

  /** One region. */
  public record Entry(int tag, int flags, long start, long blocks) {
    public long end() {
      return start + blocks;
    }

    public boolean isModuleRegion() {
      return (flags & FLAG_MODULE) != 0;
    }

    public int moduleId() {
      return (flags >>> 8) & 0xFF;
    }

    public static Entry forModule(Module m, Module.Region r, long start, long blocks) {
      return new Entry(r.tagValue(), FLAG_MODULE | m.id() << 8, start, blocks);
    }

    public String tagText() {
      return BlockType.describeTag(tag);
    }
  }

  public RegionDirectory {
    entries = List.copyOf(entries);
  }

  public static int entriesPerBlock(int blockSize) {
    return (blockSize - BlockCodec.TRAILER_SIZE - HEADER_SIZE) / ENTRY_SIZE;
  }

  /** Blocks needed to hold {@link #CAPACITY} entries. */
  public static int blocksFor(int blockSize) {
    int per = entriesPerBlock(blockSize);
    return (CAPACITY + per - 1) / per;
  }

  /** Every tag a core region (flags bit 0 clear) may have in format 1.0. */
  private static final int[] CORE_TAGS = {TAG_BITMAP, TAG_WAL, TAG_CHECKPOINT, TAG_INODES, TAG_INODES_NEW,
      TAG_INODES_OLD};

  /** Whether {@code tag} names a core region of format 1.0. */
  public static boolean isCoreTag(int tag) {
    for (int t : CORE_TAGS) {
      if (t == tag) {
        return true;
      }
    }
    return false;
  }

  /**
   * Why core entry {@code e}, whose tag is none of these, is damage. No feature bit announces core regions:
   * format 1.0 has exactly these, so another tag is a damaged entry (perhaps one of these, whose region would
   * then silently go missing) or the region of a later format that this engine would write around without keeping
   * it consistent. A later format that adds one sets an incompat bit, which is refused before the directory is
   * read.
   */
  static String unknownCoreTag(Entry e) {
    return "region " + e.tagText() + " (tag 0x" + String.format("%08x", e.tag()) + ") at " + e.start() + "+"
        + e.blocks() + " is a core region (flags bit 0 clear) with a tag format 1.0 does not define";
  }

  /** The first core region with this tag, or null. */
  public Entry find(int tag) {
    for (Entry e : entries) {
      if (e.tag() == tag && !e.isModuleRegion()) {
        return e;
      }
    }
    return null;
  }

  public List<Entry> moduleRegions(int moduleId) {
    List<Entry> out = new ArrayList<>();
    for (Entry e : entries) {
      if (e.isModuleRegion() && e.moduleId() == moduleId) {
        out.add(e);
      }
    }
    return out;
  }

  public RegionDirectory with(Entry e) {
    List<Entry> es = new ArrayList<>(entries);
    es.add(e);
    return new RegionDirectory(es);
  }

  /** This directory without the core region {@code tag}. */
  public RegionDirectory without(int tag) {
    List<Entry> es = new ArrayList<>();
    for (Entry x : entries) {
      if (!(x.tag() == tag && !x.isModuleRegion())) {
        es.add(x);
      }
    }
    return new RegionDirectory(es);
  }

  /** This directory without the regions of module {@code moduleId}. */
  public RegionDirectory withoutModule(int moduleId) {
    List<Entry> es = new ArrayList<>();
    for (Entry x : entries) {
      if (!(x.isModuleRegion() && x.moduleId() == moduleId)) {
        es.add(x);
      }
    }
    return new RegionDirectory(es);
  }

  /** This directory with the core region {@code tag} replaced by {@code e}. */
  public RegionDirectory replacing(int tag, Entry e) {
    List<Entry> es = new ArrayList<>();
    for (Entry x : entries) {
      es.add(x.tag() == tag && !x.isModuleRegion() ? e : x);
    }
    return new RegionDirectory(es);
  }

  /** Every broken invariant; empty when sound. */
  public List<String> problems(long totalBlocks, long reservedEnd) {
    List<String> out = new ArrayList<>();
    List<Entry> sorted = new ArrayList<>(entries);
    sorted.sort(Comparator.comparingLong(Entry::start));
    Entry prev = null;
    for (Entry e : sorted) {
      if (e.blocks() <= 0 || e.start() < reservedEnd || e.end() > totalBlocks || e.end() < e.start()) {
        out.add("region " + e.tagText() + " at " + e.start() + "+" + e.blocks() + " lies outside blocks "
            + reservedEnd + ".." + (totalBlocks - 1));
      }
      if (prev != null && e.start() < prev.end()) {
        out.add("region " + e.tagText() + " at " + e.start() + " overlaps region " + prev.tagText() + " ending at "
            + prev.end());
      }
      prev = e;
    }
    for (Entry e : entries) {
      if (!e.isModuleRegion() && !isCoreTag(e.tag())) {
        out.add(unknownCoreTag(e));
      }
    }
    for (int t : new int[] {TAG_BITMAP, TAG_INODES, TAG_WAL, TAG_CHECKPOINT}) {
      if (find(t) == null) {
        out.add("required region " + BlockType.describeTag(t) + " is missing");
      }
    }
    // The engine finds a region by its tag: a second entry with the same tag would be ignored by some steps and
    // used by none, or worse, taken for the first by a later change. Module regions are never found by tag alone
    // (flags bit 0 tells them apart), so a module region whose tag equals a core tag is no duplicate.
    for (int t : new int[] {TAG_BITMAP, TAG_INODES, TAG_WAL, TAG_CHECKPOINT, TAG_INODES_NEW, TAG_INODES_OLD}) {
      long n = entries.stream().filter(e -> e.tag() == t && !e.isModuleRegion()).count();
      if (n > 1) {
        out.add("region " + BlockType.describeTag(t) + " is listed " + n + " times");
      }
    }
    Entry chk = find(TAG_CHECKPOINT);
    if (chk != null && chk.blocks() != CHECKPOINT_BLOCKS) {
      // Its two record slots are written at start and start + 1: a shorter region would put one on a neighbour.
      out.add("region " + chk.tagText() + " has " + chk.blocks() + " blocks; it must have " + CHECKPOINT_BLOCKS);
    }
    return out;
  }

  /** Encodes into {@code blocks} sealed RDIR blocks. */
  public List<byte[]> write(int blockSize, int blocks) {
    int per = entriesPerBlock(blockSize);
    if (entries.size() > per * blocks) {
      throw new IllegalStateException("region directory full: " + entries.size() + " entries, room for "
          + per * blocks);
    }
    List<byte[]> out = new ArrayList<>();
    for (int i = 0; i < blocks; i++) {
      byte[] b = new byte[blockSize];
      int from = i * per;
      int n = Math.max(0, Math.min(per, entries.size() - from));
      Bytes.put32(b, 0, n);
      int p = HEADER_SIZE;
      for (int k = 0; k < n; k++) {
        Entry e = entries.get(from + k);
        Bytes.put32(b, p, e.tag());
        Bytes.put32(b, p + 4, e.flags());
        Bytes.put64(b, p + 8, e.start());
        Bytes.put64(b, p + 16, e.blocks());
        p += ENTRY_SIZE;
      }
      BlockCodec.seal(b, BlockType.REGION_DIRECTORY, i);
      out.add(b);
    }
    return out;
  }

  /** Decodes from the directory's blocks, in order; {@code firstBlockNo} is used in error messages. */
  public static RegionDirectory read(List<byte[]> blocks, long firstBlockNo, String resource)
      throws VdeCorruptedException {
    List<Entry> es = new ArrayList<>();
    for (int i = 0; i < blocks.size(); i++) {
      byte[] b = blocks.get(i);
      long no = firstBlockNo + i;
      BlockCodec.verify(b, no, BlockType.REGION_DIRECTORY, resource);
      long n = Bytes.u32(b, 0);
      int per = entriesPerBlock(b.length);
      if (n > per) {
        throw new VdeCorruptedException(no, "region directory", "entry count " + n + " exceeds " + per, resource);
      }
      int p = HEADER_SIZE;
      for (int k = 0; k < n; k++) {
        Entry e = new Entry(Bytes.i32(b, p), Bytes.i32(b, p + 4), Bytes.i64(b, p + 8), Bytes.i64(b, p + 16));
        if (!e.isModuleRegion() && !isCoreTag(e.tag())) {
          // Refused here rather than with the other invariants, which name only the directory's first block: the
          // block holding the entry is the one to look at.
          throw new VdeCorruptedException(no, "region directory", "entry " + k + ": " + unknownCoreTag(e),
              resource);
        }
        es.add(e);
        p += ENTRY_SIZE;
      }
    }
    return new RegionDirectory(es);
  }
}
