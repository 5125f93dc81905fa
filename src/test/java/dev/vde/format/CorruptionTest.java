package dev.vde.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.vde.VdeException;
import dev.vde.fs.DirectoryBlockCodec;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.inode.ExtentBlockCodec;
import dev.vde.inode.Inode;
import dev.vde.testing.FsModel;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

/**
 * Flips one byte in one block of a closed image, for every kind of block, and checks that the engine either
 * notices (a {@code VdeCorruptedException}, a verify problem or an open-time warning) or genuinely recovers (one
 * superblock copy damaged: open succeeds with the content intact) — never returns wrong content without
 * complaint, and never lets a raw JDK exception escape.
 *
 * <p>Blocks are found by scanning the image for trailer tags (stale WAL images carry the same tags, so the WAL
 * region is told apart through the region directory). Where the test can prove a block is live (the region
 * directory, bitmap and inode table; outside the WAL: the only DIRE block holding a directory's current entries,
 * the XTNT block holding the fragmented file's current extents, the only DATA block holding a given chunk of a
 * file's unique random content), damage to its checksummed bytes must be <em>noticed</em>, not merely survived.
 * A flip in the trailer's generation field (not covered by the checksum) or in a block whose liveness is unknown
 * must only not cause a failure.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CorruptionTest {
  static final int BS = 4096;
  static final int PAYLOAD = BS - 16;
  static final long SEED = Long.getLong("vde.corrupt.seed", 0xC0FFEEL);
  /** Blocks tried per kind; the chosen ones are printed in each case's name. */
  static final int BLOCKS_PER_KIND = 3;

  private byte[] cleanImage;
  private FsModel expected;
  private ImageScan scan;
  private final Map<String, Long> dirInode = new TreeMap<>();
  private long fragInode;
  private int fragExtents;

  @BeforeAll
  void buildImage() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("corruption source");
    VirtualDisk disk = VirtualDisk.create(dev, TestVolumes.options(BS));
    FsModel m = new FsModel();
    disk.mkdirs("/a/b/c");
    m.mkdir("/a");
    m.mkdir("/a/b");
    m.mkdir("/a/b/c");
    disk.mkdir("/frag");
    m.mkdir("/frag");
    long seed = 77;
    // Every file has unique random content, so a DATA block found in the image belongs to exactly one chunk.
    put(disk, m, "/empty", new byte[0]);
    put(disk, m, "/a/one", SeededBytes.bytes(seed++, 1));
    put(disk, m, "/a/b/exact", SeededBytes.bytes(seed++, PAYLOAD));
    put(disk, m, "/a/b/c/over", SeededBytes.bytes(seed++, PAYLOAD + 1));
    put(disk, m, "/big", SeededBytes.bytes(seed++, 5 * PAYLOAD + 77));
    put(disk, m, "/frag/file", SeededBytes.bytes(seed++, PAYLOAD));
    put(disk, m, "/frag/partner", SeededBytes.bytes(seed++, PAYLOAD));
    // Appends interleaved with another file's cannot be contiguous, so the file spills into an XTNT block.
    for (int i = 0; i < 10; i++) {
      byte[] x = SeededBytes.bytes(seed++, PAYLOAD);
      disk.append("/frag/file", x);
      m.append("/frag/file", x);
      byte[] y = SeededBytes.bytes(seed++, PAYLOAD);
      disk.append("/frag/partner", y);
      m.append("/frag/partner", y);
    }
    assertThat(disk.stat("/frag/file").extentCount()).as("the image must contain a file with > 8 extents")
        .isGreaterThan(8);
    fragInode = disk.stat("/frag/file").inode();
    fragExtents = disk.stat("/frag/file").extentCount();
    dirInode.put("/", disk.stat("/").inode());
    for (String d : m.dirs()) {
      dirInode.put(d, disk.stat(d).inode());
    }
    disk.close();
    cleanImage = dev.durableSnapshot();
    expected = m;
    scan = new ImageScan(cleanImage, BS);
  }

  private static void put(VirtualDisk disk, FsModel m, String path, byte[] data) throws IOException {
    disk.writeFile(path, data);
    m.writeFile(path, data);
  }

  // ------------------------------------------------------------------------------------------------ preconditions

  @Test
  void cleanImage_opensIntact_withNothingToReport() {
    DamageProbe p = DamageProbe.probe(() -> open(cleanImage), expected);
    assertThat(p.failures).as("%s", p).isEmpty();
    assertThat(p.signals).as("an undamaged image must not raise alarms: %s", p).isEmpty();
    assertThat(p.intactReads).isEqualTo(1 + expected.dirs().size() + expected.files().size());
  }

  /** Blocks of the metadata WAL region: images there are stale once checkpointed, so never provably live. */
  boolean inWal(long b) {
    return scan.inRegion(RegionDirectory.TAG_WAL, b);
  }

  /** Blocks of a kind found outside the WAL region. */
  List<Long> outsideWal(BlockType t) {
    return scan.blocksOf(t).stream().filter(b -> !inWal(b)).toList();
  }

  /** Blocks whose every byte is in use whatever the files: the region directory, bitmap and inode table. */
  Set<Long> liveFixedBlocks(BlockType kind) {
    Set<Long> live = new HashSet<>();
    for (long b : scan.blocksOf(kind)) {
      boolean fixed = switch (kind) {
        case REGION_DIRECTORY -> scan.inRegionDirectory(b);
        case BITMAP -> scan.inRegion(RegionDirectory.TAG_BITMAP, b);
        case INODE_TABLE -> scan.inRegion(RegionDirectory.TAG_INODES, b);
        default -> false;
      };
      if (fixed) {
        live.add(b);
      }
    }
    return live;
  }

  @Test
  void cleanImage_containsEveryKindOfBlockTheTestsDamage() {
    assertThat(outsideWal(BlockType.SUPERBLOCK)).as("scan: %s", scan).containsExactly(0L, 1L);
    for (BlockType t : List.of(BlockType.REGION_DIRECTORY, BlockType.BITMAP, BlockType.INODE_TABLE)) {
      assertThat(liveFixedBlocks(t)).as("%s blocks in their region (scan: %s)", t.ascii(), scan).isNotEmpty();
    }
    for (BlockType t : List.of(BlockType.REGION_DIRECTORY, BlockType.BITMAP, BlockType.INODE_TABLE,
        BlockType.DIRECTORY, BlockType.EXTENT, BlockType.DATA)) {
      assertThat(scan.blocksOf(t)).as("%s blocks in the image (scan: %s)", t.ascii(), scan).isNotEmpty();
    }
    assertThat(liveDirectoryBlocks()).as("live DIRE blocks identified").isNotEmpty();
    assertThat(liveExtentBlocks()).as("live XTNT blocks identified").isNotEmpty();
    assertThat(liveDataBlocks()).as("live DATA blocks identified").isNotEmpty();
  }

  // ------------------------------------------------------------------------------------------------ liveness

  /** DIRE blocks that are the only block holding some directory's current, complete listing. */
  Set<Long> liveDirectoryBlocks() {
    Map<Long, String> dirByInode = new HashMap<>();
    dirInode.forEach((path, ino) -> dirByInode.put(ino, path));
    Map<String, List<Long>> matches = new HashMap<>();
    for (long b : outsideWal(BlockType.DIRECTORY)) {
      String dir = dirByInode.get((long) scan.generation(b));
      List<DirectoryBlockCodec.Entry> entries = scan.directoryEntries(b);
      if (dir == null || entries == null) {
        continue;
      }
      Set<String> names = new HashSet<>();
      entries.forEach(e -> names.add(e.name()));
      if (names.equals(DamageProbe.childrenOf(expected, dir).keySet())) {
        matches.computeIfAbsent(dir, k -> new ArrayList<>()).add(b);
      }
    }
    Set<Long> live = new HashSet<>();
    matches.values().stream().filter(bs -> bs.size() == 1).forEach(bs -> live.add(bs.get(0)));
    return live;
  }

  /**
   * The XTNT block holding the fragmented file's current extents 9 and up: owned by the file (trailer generation)
   * and listing exactly {@code extentCount - 8} extents. Extent blocks are rewritten copy-on-write, so stale copies
   * of the same owner exist; they list fewer extents. Only a unique match counts.
   */
  Set<Long> liveExtentBlocks() {
    List<Long> owned = new ArrayList<>();
    for (long b : outsideWal(BlockType.EXTENT)) {
      ExtentBlockCodec.Decoded d = scan.extents(b);
      if (d != null && scan.generation(b) == (int) fragInode && d.next() == 0
          && d.extents().size() == fragExtents - Inode.INLINE_EXTENTS) {
        owned.add(b);
      }
    }
    return owned.size() == 1 ? Set.of(owned.get(0)) : Set.of();
  }

  /** DATA blocks that are the only block starting with some chunk (>= 16 bytes) of a file's content. */
  Map<Long, String> liveDataBlocks() {
    Map<Long, String> live = new TreeMap<>();
    for (var f : expected.files().entrySet()) {
      byte[] c = f.getValue();
      for (int k = 0; (long) k * PAYLOAD < c.length; k++) {
        int from = k * PAYLOAD;
        int len = Math.min(PAYLOAD, c.length - from);
        if (len < 16) {
          continue;
        }
        List<Long> hits = new ArrayList<>();
        for (long b : outsideWal(BlockType.DATA)) {
          byte[] blk = scan.block(b);
          if (Arrays.equals(blk, 0, len, c, from, from + len)) {
            hits.add(b);
          }
        }
        if (hits.size() == 1) {
          live.put(hits.get(0), f.getKey() + " chunk " + k);
        }
      }
    }
    return live;
  }

  // ------------------------------------------------------------------------------------------------ byte flips

  /** Where in a block a flip lands. */
  enum Spot {
    PAYLOAD(true), TAG(true), CHECKSUM(true), GENERATION(false);

    /** Whether the block's checksum or tag check can see the flip. */
    final boolean checked;

    Spot(boolean checked) {
      this.checked = checked;
    }

    int offset(SplittableRandom r) {
      return switch (this) {
        case PAYLOAD -> r.nextInt(BS - 16);
        case TAG -> BS - 16 + r.nextInt(4);
        case GENERATION -> BS - 12 + r.nextInt(4);
        case CHECKSUM -> BS - 8 + r.nextInt(8);
      };
    }
  }

  @TestFactory
  Stream<DynamicTest> superblockCopy_damaged_openRecoversFromTheOtherCopy_withContentIntact() {
    List<DynamicTest> tests = new ArrayList<>();
    SplittableRandom r = new SplittableRandom(SEED);
    for (long b : List.of(0L, 1L)) {
      for (Spot s : Spot.values()) {
        int off = s.offset(r);
        tests.add(DynamicTest.dynamicTest("SUPB block " + b + " " + s + " byte " + off + " seed " + SEED, () -> {
          DamageProbe p = probeFlip(b, off);
          String ctx = "superblock copy " + b + " flipped at byte " + off + " (" + s + "), seed " + SEED + ": " + p;
          assertThat(p.failures).as(ctx).isEmpty();
          assertThat(p.opened).as("one good superblock copy is left, so open must succeed; " + ctx).isTrue();
          assertThat(p.failedReads).as("content must be intact; " + ctx).isZero();
          if (s.checked) {
            assertThat(p.detected()).as("a damaged copy must be reported (warning or verify); " + ctx).isTrue();
          }
        }));
      }
    }
    return tests.stream();
  }

  @TestFactory
  Stream<DynamicTest> metadataAndDataBlock_damaged_isNoticedOrHarmless_neverSilentlyWrong() {
    Set<Long> liveDire = liveDirectoryBlocks();
    Set<Long> liveXtnt = liveExtentBlocks();
    Map<Long, String> liveData = liveDataBlocks();
    List<DynamicTest> tests = new ArrayList<>();
    SplittableRandom r = new SplittableRandom(SEED + 1);
    List<BlockType> kinds = List.of(BlockType.REGION_DIRECTORY, BlockType.BITMAP, BlockType.INODE_TABLE,
        BlockType.DIRECTORY, BlockType.EXTENT, BlockType.DATA, BlockType.MIGRATION_CHECKPOINT,
        BlockType.SUPERBLOCK, BlockType.WAL_DESCRIPTOR, BlockType.WAL_COMMIT);
    for (BlockType kind : kinds) {
      List<Long> candidates = new ArrayList<>(scan.blocksOf(kind));
      // The two real superblocks have their own test; other SUPB-tagged blocks are stale WAL images.
      candidates.removeAll(List.of(0L, 1L));
      // Live blocks first: they are the ones where damage must be noticed, not merely survived.
      List<Long> chosen = new ArrayList<>();
      Set<Long> live = switch (kind) {
        case DIRECTORY -> liveDire;
        case EXTENT -> liveXtnt;
        case DATA -> liveData.keySet();
        case REGION_DIRECTORY, BITMAP, INODE_TABLE -> liveFixedBlocks(kind);
        default -> Set.of();
      };
      List<Long> liveList = new ArrayList<>(live);
      liveList.sort(null);
      pickInto(chosen, liveList, BLOCKS_PER_KIND, r);
      candidates.removeAll(live);
      pickInto(chosen, candidates, 1, r);
      for (long b : chosen) {
        boolean isLive = live.contains(b);
        String what = kind.ascii() + " block " + b + (isLive ? " (live" + (kind == BlockType.DATA
            ? ": " + liveData.get(b) : "") + ")" : " (liveness unknown)");
        for (Spot s : Spot.values()) {
          int off = s.offset(r);
          tests.add(DynamicTest.dynamicTest(what + " " + s + " byte " + off + " seed " + SEED, () -> {
            DamageProbe p = probeFlip(b, off);
            String ctx = what + " flipped at byte " + off + " (" + s + "), seed " + SEED + ": " + p;
            assertThat(p.failures).as(ctx).isEmpty();
            if (isLive && s.checked) {
              assertThat(p.detected()).as("damage to a live block must be noticed; " + ctx).isTrue();
            }
          }));
        }
      }
    }
    return tests.stream();
  }

  private static void pickInto(List<Long> out, List<Long> from, int n, SplittableRandom r) {
    List<Long> pool = new ArrayList<>(from);
    for (int i = 0; i < n && !pool.isEmpty(); i++) {
      out.add(pool.remove(r.nextInt(pool.size())));
    }
  }

  private DamageProbe probeFlip(long blockNo, int offset) {
    byte[] img = cleanImage.clone();
    img[Math.toIntExact(blockNo * BS + offset)] ^= (byte) 0xFF;
    // A damaged image must not hang the engine either (a flipped pointer could form a cycle).
    return assertTimeoutPreemptively(Duration.ofSeconds(30), () -> DamageProbe.probe(() -> open(img), expected));
  }

  static VirtualDisk open(byte[] image) throws IOException {
    return VirtualDisk.open(PowerLossDevice.fromImage("damaged image", image), OpenOptions.defaults());
  }

  // ------------------------------------------------------------------------------------------------ WAL damage

  /**
   * The WAL only holds blocks between checkpoints, so this image is copied while the engine is still open after a
   * few writes. Damage there may cost the transactions from the damaged one on (recovery cannot tell bit rot
   * from a torn commit), so the recovered tree must equal the tree after some prefix of the writes, or the
   * engine must say it is damaged.
   */
  @Test
  void walBlock_damaged_recoversToAPrefixOfTheHistory_orIsReported() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("wal source");
    VirtualDisk disk = VirtualDisk.create(dev, TestVolumes.options(BS));
    List<FsModel> history = new ArrayList<>();
    FsModel m = new FsModel();
    history.add(m.copy());
    long seed = 500;
    for (int i = 0; i < 4; i++) {
      byte[] data = SeededBytes.bytes(seed++, PAYLOAD * i + 33);
      disk.writeFile("/w" + i, data);
      m.writeFile("/w" + i, data);
      history.add(m.copy());
    }
    disk.mkdir("/wd");
    m.mkdir("/wd");
    history.add(m.copy());
    byte[] openImage = dev.snapshot();
    disk.close();

    // The copy is what a crash right now would leave; undamaged, it must recover every acknowledged write.
    try (VirtualDisk d = open(openImage)) {
      assertThat(FsModel.readFrom(d).diff(m)).as("undamaged open-image recovery").isEmpty();
    }

    ImageScan walScan = new ImageScan(openImage, BS);
    List<Long> walBlocks = new ArrayList<>(walScan.blocksOf(BlockType.WAL_DESCRIPTOR));
    walBlocks.addAll(walScan.blocksOf(BlockType.WAL_COMMIT));
    Assumptions.assumeFalse(walBlocks.isEmpty(),
        "no MWAL/MCMT block in an image copied while the engine was open: the engine checkpoints every "
            + "transaction at once, so there is no WAL content to damage");

    SplittableRandom r = new SplittableRandom(SEED + 2);
    List<String> failures = new ArrayList<>();
    int cases = 0;
    for (long b : walBlocks) {
      for (Spot s : List.of(Spot.PAYLOAD, Spot.CHECKSUM, Spot.TAG)) {
        int off = s.offset(r);
        byte[] img = openImage.clone();
        img[Math.toIntExact(b * BS + off)] ^= (byte) 0xFF;
        String ctx = BlockType.fromTag(BlockCodec.storedTag(walScan.block(b))).ascii() + " block " + b
            + " flipped at byte " + off + " (" + s + "), seed " + SEED;
        cases++;
        failures.addAll(walCase(img, history, ctx));
      }
    }
    assertThat(cases).isPositive();
    assertThat(failures).as("%d WAL damage cases", cases).isEmpty();
  }

  private static List<String> walCase(byte[] img, List<FsModel> history, String ctx) {
    List<String> out = new ArrayList<>();
    DamageProbe classifier = new DamageProbe();
    VirtualDisk d;
    try {
      d = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> open(img));
    } catch (Throwable t) {
      classifier.classify("open", t);
      classifier.failures.forEach(f -> out.add(ctx + ": " + f));
      return out;
    }
    try {
      FsModel tree = FsModel.readFrom(d);
      boolean prefix = history.stream().anyMatch(tree::sameAs);
      if (!prefix) {
        out.add(ctx + ": recovered tree " + tree + " is no prefix of the history; vs final: "
            + tree.diff(history.get(history.size() - 1)));
      }
    } catch (Throwable t) {
      classifier.classify("reading the recovered tree", t);
    } finally {
      TestVolumes.closeQuietly(d);
    }
    classifier.failures.forEach(f -> out.add(ctx + ": " + f));
    return out;
  }

  // ------------------------------------------------------------------------------------------------ whole images

  /**
   * Whether cutting the image to {@code blocks} blocks removes a block the test can prove live: then the cut is
   * damage the engine must notice. Cuts that remove only free or stale blocks may go unnoticed.
   */
  private boolean cutRemovesLiveBlocks(long blocks) {
    Set<Long> live = new HashSet<>();
    live.add(0L);
    live.add(1L);
    for (BlockType t : List.of(BlockType.REGION_DIRECTORY, BlockType.BITMAP, BlockType.INODE_TABLE)) {
      live.addAll(liveFixedBlocks(t));
    }
    live.addAll(liveDirectoryBlocks());
    live.addAll(liveExtentBlocks());
    live.addAll(liveDataBlocks().keySet());
    return live.stream().anyMatch(b -> b >= blocks);
  }

  @Test
  void truncatedImage_atBlockBoundaries_isReportedOrReadsCorrectly() {
    long total = cleanImage.length / BS;
    long[] cuts = {1, 2, 3, 4, 8, total / 4, total / 2, total - 1};
    List<String> failures = new ArrayList<>();
    int mustDetect = 0;
    for (long k : cuts) {
      byte[] img = Arrays.copyOf(cleanImage, Math.toIntExact(k * BS));
      DamageProbe p = assertTimeoutPreemptively(Duration.ofSeconds(30),
          () -> DamageProbe.probe(() -> open(img), expected));
      String ctx = "image cut to " + k + " of " + total + " blocks: ";
      p.failures.forEach(f -> failures.add(ctx + f));
      if (cutRemovesLiveBlocks(k)) {
        mustDetect++;
        if (!p.detected()) {
          failures.add(ctx + "live blocks were cut off but nothing noticed: " + p);
        }
      }
    }
    assertThat(failures).isEmpty();
    assertThat(mustDetect).as("cuts at 1..8 blocks remove live fixed regions").isGreaterThanOrEqualTo(5);
  }

  @Test
  void emptyOrForeignHostFile_isRefusedWithAVdeException() throws IOException {
    byte[] text = "this is not a vde volume\n".repeat(300).getBytes(StandardCharsets.US_ASCII);
    Map<String, byte[]> images = new TreeMap<>();
    images.put("empty file", new byte[0]);
    images.put("text file", text);
    images.put("64 KiB of zeros", new byte[64 * 1024]);
    images.put("1 MiB of random bytes", SeededBytes.bytes(SEED, 1 << 20));
    byte[] wrongMagic = cleanImage.clone();
    for (int b = 0; b < 2; b++) {
      // Both copies get a wrong magic under a correct checksum: a foreign format rather than damage.
      wrongMagic[b * BS] ^= 0x20;
      byte[] blk = Arrays.copyOfRange(wrongMagic, b * BS, (b + 1) * BS);
      BlockCodec.seal(blk, BlockType.SUPERBLOCK, BlockCodec.storedGeneration(blk));
      System.arraycopy(blk, 0, wrongMagic, b * BS, BS);
    }
    images.put("volume whose superblocks carry a foreign magic", wrongMagic);
    Path dir = Files.createTempDirectory("vde-foreign");
    try {
      for (var e : images.entrySet()) {
        Path file = dir.resolve("image.bin");
        Files.write(file, e.getValue());
        Throwable thrown = null;
        VirtualDisk d = null;
        try {
          d = VirtualDisk.open(file);
        } catch (Throwable t) {
          thrown = t;
        }
        TestVolumes.closeQuietly(d);
        assertThat(d).as("%s must not open as a volume", e.getKey()).isNull();
        assertThat(thrown).as("%s", e.getKey()).isInstanceOf(VdeException.class);
        assertThat(thrown.getMessage()).as("message for %s", e.getKey()).isNotBlank();
        Files.delete(file);
      }
    } finally {
      deleteTree(dir);
    }
  }

  @Test
  void truncatedHostFile_onDisk_isReportedOrReadsCorrectly() throws IOException {
    Path dir = Files.createTempDirectory("vde-trunc");
    try {
      long total = cleanImage.length / BS;
      List<String> failures = new ArrayList<>();
      for (long k : new long[] {2, 5, total / 3, total - 1}) {
        Path file = dir.resolve("cut-" + k + ".vde");
        Files.write(file, Arrays.copyOf(cleanImage, Math.toIntExact(k * BS)));
        DamageProbe p = DamageProbe.probe(() -> VirtualDisk.open(file), expected);
        String ctx = "host file cut to " + k + " of " + total + " blocks: ";
        p.failures.forEach(f -> failures.add(ctx + f));
        if (cutRemovesLiveBlocks(k) && !p.detected()) {
          failures.add(ctx + "live blocks were cut off but nothing noticed: " + p);
        }
        Files.delete(file);
      }
      assertThat(failures).isEmpty();
    } finally {
      deleteTree(dir);
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (var s = Files.list(dir)) {
      for (Path p : s.toList()) {
        Files.deleteIfExists(p);
      }
    }
    Files.deleteIfExists(dir);
  }

  /** Sanity of the scan itself, independent of the engine: a sealed block is found under its tag. */
  @Test
  void imageScan_findsSealedBlocksByTag_andSkipsDamagedOnes() {
    byte[] img = new byte[3 * 512];
    byte[] dire = DirectoryBlockCodec.write(512, List.of(new DirectoryBlockCodec.Entry("x", 5, 1)), 2);
    System.arraycopy(dire, 0, img, 512, 512);
    byte[] data = new byte[512];
    data[0] = 1;
    BlockCodec.seal(data, BlockType.DATA, 0);
    data[1] = 1;
    System.arraycopy(data, 0, img, 1024, 512);
    ImageScan s = new ImageScan(img, 512);
    assertThat(s.blocksOf(BlockType.DIRECTORY)).containsExactly(1L);
    assertThat(s.blocksOf(BlockType.DATA)).as("a block whose checksum fails is not counted").isEmpty();
    assertThat(s.directoryEntries(1)).extracting(DirectoryBlockCodec.Entry::name).containsExactly("x");
  }
}
