package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.VdeException;
import dev.vde.check.VerifyReport;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.inode.InodeCodec;
import dev.vde.module.InPlaceAddition;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationOptions;
import dev.vde.module.Tags;
import dev.vde.module.copy.CopyOptions;
import dev.vde.module.copy.ExtentAwareCopy;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Checksum-valid (resealed) damage of one kind fed to one operation, for every pair: reads, writes, deletes and
 * renames of the damaged file and of a healthy one next to it, directory operations in the damaged directory, the
 * extent-aware copy, the inode migration, the in-place module additions and the verifier.
 *
 * <p>Allowed per cell: the operation succeeds, or ends with a {@link VdeException}. Never a raw JDK exception or
 * error, never a hang (each cell has {@link #CELL_SECONDS}). And never a write that makes the damage worse in
 * silence: every file that read correctly on the damaged image before the operation still reads the same after it
 * (or as the operation changed it), also once the space the operation freed has been reused; a copy that succeeds
 * verifies clean and holds the same files; the verifier reports the damage.
 */
class OperationDamageMatrixTest {
  static final long CELL_SECONDS = 20;
  /** Where the damage lives; every damaged path is in it. */
  static final String DIR = "/d";
  static final String VICTIM = "/d/victim";
  static final String HEALTHY = "/d/healthy";
  static final String SUB = "/d/sub";
  static final String FRAG = "/d/frag";

  private static final ExecutorService CELLS = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "damage-matrix-cell");
    t.setDaemon(true);
    return t;
  });

  @AfterAll
  static void stopCells() {
    CELLS.shutdownNow();
  }

  /** A closed volume, its files (path to content), and where its structures are. */
  record Base(byte[] image, Map<String, byte[]> files, Map<String, Long> inodes, Superblock sb, RegionDirectory rd) {
    long ino(String p) {
      return inodes.get(p);
    }
  }

  private static Base plainBase;
  private static Base tagsBase;

  static synchronized Base base(boolean tags) throws IOException {
    if (tags ? tagsBase == null : plainBase == null) {
      Base b = build(tags);
      if (tags) {
        tagsBase = b;
      } else {
        plainBase = b;
      }
    }
    return tags ? tagsBase : plainBase;
  }

  private static Base build(boolean tags) throws IOException {
    PowerLossDevice dev = new PowerLossDevice(tags ? "matrix-tags" : "matrix");
    CreateOptions co = CreateOptions.ofSize(256 * 1024).blockSize(512).inodeCount(96).walBlocks(64);
    Map<String, byte[]> files = new LinkedHashMap<>();
    Map<String, Long> inodes = new LinkedHashMap<>();
    try (VirtualDisk d = VirtualDisk.create(dev, tags ? co.module(Module.TAGS) : co)) {
      d.mkdirs(SUB);
      put(d, files, VICTIM, SeededBytes.bytes(1, 3 * 496));
      put(d, files, HEALTHY, SeededBytes.bytes(2, 2 * 496 + 100));
      put(d, files, SUB + "/x", SeededBytes.bytes(3, 300));
      put(d, files, "/keep", SeededBytes.bytes(4, 1000));
      // Whole-block appends interleaved with other files: every block of FRAG is its own extent, 30 in all, so
      // its indirect chain has two blocks at 512-byte blocks (20 extents per block).
      byte[] frag = new byte[0];
      d.writeFile(FRAG, frag);
      for (int i = 0; i < 30; i++) {
        byte[] chunk = SeededBytes.bytes(100 + i, 496);
        d.append(FRAG, chunk);
        frag = concat(frag, chunk);
        put(d, files, "/s" + i, SeededBytes.bytes(200 + i, 20));
      }
      files.put(FRAG, frag);
      if (tags) {
        Tags.set(d, VICTIM, "color", "blue");
        Tags.set(d, HEALTHY, "k", "v");
      }
      for (String p : List.of(DIR, SUB, VICTIM, HEALTHY, SUB + "/x", FRAG, "/keep")) {
        inodes.put(p, d.stat(p).inode());
      }
    }
    byte[] image = dev.snapshot();
    return new Base(image, files, inodes, ImageEdit.newestSuperblock(image), Reseal.regions(image));
  }

  private static void put(VirtualDisk d, Map<String, byte[]> files, String p, byte[] data) throws IOException {
    d.writeFile(p, data);
    files.put(p, data);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  // ---------------------------------------------------------------- damage

  /** Image edits on a copy of a base image, all resealed. */
  static final class Edit {
    final Base base;
    final byte[] image;

    Edit(Base base) {
      this.base = base;
      this.image = base.image().clone();
    }

    int bs() {
      return base.sb().blockSize();
    }

    long tableBlock(long n) {
      return base.rd().find(RegionDirectory.TAG_INODES).start() + n / InodeCodec.perBlock(bs(), base.sb().inodeSize());
    }

    int recordOffset(long n) {
      return (int) (n % InodeCodec.perBlock(bs(), base.sb().inodeSize())) * base.sb().inodeSize();
    }

    /** Edits inode {@code n}'s record: {@code edit} gets the block and the record's offset in it. */
    void inode(long n, java.util.function.ObjIntConsumer<byte[]> edit) {
      int off = recordOffset(n);
      Reseal.editBlock(image, tableBlock(n), b -> edit.accept(b, off));
    }

    long inodeU64(long n, int field) {
      return Bytes.i64(image, (int) (tableBlock(n) * bs()) + recordOffset(n) + field);
    }

    long inodeU32(long n, int field) {
      return Bytes.u32(image, (int) (tableBlock(n) * bs()) + recordOffset(n) + field);
    }

    /** Start of the first inline extent of inode {@code n}. */
    long firstStart(long n) {
      return inodeU64(n, 80 + 8);
    }

    int firstCount(long n) {
      return (int) inodeU32(n, 80 + 16);
    }

    /** Points the first inline extent of {@code n} at {@code start}, keeping its count. */
    void firstExtentAt(long n, long start) {
      inode(n, (b, off) -> Bytes.put64(b, off + 80 + 8, start));
    }

    /** Rewrites the entry named {@code name} of directory {@code dir}: its inode and type. */
    void entry(long dir, String name, long inode, int type) {
      byte[] want = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      for (long blk = 2; blk < image.length / bs(); blk++) {
        byte[] x = ImageEdit.block(image, blk, bs());
        if (!BlockCodec.checksumMatches(x) || BlockCodec.storedTag(x) != BlockType.DIRECTORY.tag()
            || BlockCodec.storedGeneration(x) != (int) dir) {
          continue;
        }
        int count = Bytes.u16(x, 0);
        int p = 8;
        for (int k = 0; k < count; k++) {
          int len = x[p + 5] & 0xff;
          if (Arrays.equals(Arrays.copyOfRange(x, p + 6, p + 6 + len), want)) {
            int at = p;
            Reseal.editBlock(image, blk, y -> {
              Bytes.put32(y, at, (int) inode);
              y[at + 4] = (byte) type;
            });
            return;
          }
          p += 6 + len;
        }
      }
      throw new AssertionError("entry " + name + " of directory inode " + dir + " not found");
    }

    /** The first indirect extent block of {@code n}. */
    long chainHead(long n) {
      return inodeU64(n, 56);
    }

    /** The lowest inode number whose record is free (in the table, or past its initialized part). */
    long freeInode() {
      long init = base.sb().inodeTableInitBlocks();
      long start = base.rd().find(RegionDirectory.TAG_INODES).start();
      for (long n = 2; n < base.sb().inodeCount(); n++) {
        if (tableBlock(n) - start >= init || Bytes.u8(image, (int) (tableBlock(n) * bs()) + recordOffset(n) + 4) == 0) {
          return n;
        }
      }
      throw new AssertionError("no free inode");
    }

    long regionStart(int tag) {
      return base.rd().find(tag).start();
    }

    /** Clears the bitmap bits of blocks {@code [start, start + count)} and raises the free count to match. */
    void clearBits(long start, int count) {
      long bitmap = regionStart(RegionDirectory.TAG_BITMAP);
      int bits = (bs() - BlockCodec.TRAILER_SIZE) * 8;
      for (long blk = start; blk < start + count; blk++) {
        long at = blk;
        Reseal.editBlock(image, bitmap + at / bits, b -> b[(int) (at % bits / 8)] &= (byte) ~(1 << (at % 8)));
      }
      Superblock sb = base.sb();
      Reseal.editSuperblocks(image, b -> Bytes.put64(b, 120, sb.freeBlocks() + count));
    }
  }

  /**
   * One kind of damage: what it does to the image, the damaged path, the directory holding the damage, and
   * whether the verifier must report it ({@code false}: the format allows it).
   */
  record Damage(String name, boolean tags, String path, String dir, boolean isDamage, Consumer<Edit> edit) {
    @Override
    public String toString() {
      return name;
    }
  }

  /**
   * Damage the engine trusts by design (DESIGN.md, "Known limits": freeing a file's blocks checks them against the
   * metadata, not against every other file, and the allocator trusts the bitmap for data blocks): with it a write
   * may still cost the other file its data, so only the other rules are checked.
   */
  static final java.util.Set<String> TRUSTED = java.util.Set.of("two files share a block",
      "bitmap bits cleared for a file's blocks");

  static List<Damage> damages() {
    List<Damage> out = new ArrayList<>();
    out.add(new Damage("extent past the volume", false, VICTIM, DIR, true,
        e -> e.firstExtentAt(e.base.ino(VICTIM), e.base.sb().totalBlocks() - 1)));
    out.add(new Damage("extent on the second superblock", false, VICTIM, DIR, true,
        e -> e.firstExtentAt(e.base.ino(VICTIM), 1)));
    out.add(new Damage("extent in the region directory", false, VICTIM, DIR, true,
        e -> e.firstExtentAt(e.base.ino(VICTIM), e.base.sb().regionDirStart())));
    for (int tag : new int[] {RegionDirectory.TAG_WAL, RegionDirectory.TAG_BITMAP, RegionDirectory.TAG_INODES,
        RegionDirectory.TAG_CHECKPOINT}) {
      out.add(new Damage("extent in region " + BlockType.describeTag(tag), false, VICTIM, DIR, true,
          e -> e.firstExtentAt(e.base.ino(VICTIM), e.regionStart(tag))));
    }
    out.add(new Damage("two files share a block", false, VICTIM, DIR, true, e -> {
      long h = e.base.ino(HEALTHY);
      long v = e.base.ino(VICTIM);
      assertThat(e.firstCount(h)).isGreaterThanOrEqualTo(e.firstCount(v));
      e.firstExtentAt(v, e.firstStart(h));
    }));
    out.add(new Damage("inline extent count above the extents held", false, VICTIM, DIR, true,
        e -> e.inode(e.base.ino(VICTIM), (b, off) -> Bytes.put32(b, off + 12, 3))));
    out.add(new Damage("chained extent count above the chain", false, FRAG, DIR, true,
        e -> e.inode(e.base.ino(FRAG), (b, off) -> Bytes.put32(b, off + 12, Bytes.i32(b, off + 12) + 5))));
    out.add(new Damage("chained extent count below the chain", false, FRAG, DIR, true,
        e -> e.inode(e.base.ino(FRAG), (b, off) -> Bytes.put32(b, off + 12, Bytes.i32(b, off + 12) - 3))));
    out.add(new Damage("extent chain loops back to itself", false, FRAG, DIR, true, e -> {
      long head = e.chainHead(e.base.ino(FRAG));
      Reseal.editBlock(e.image, head, b -> Bytes.put64(b, 8, head));
    }));
    out.add(new Damage("extent chain loops, count at the volume size", false, FRAG, DIR, true, e -> {
      long head = e.chainHead(e.base.ino(FRAG));
      Reseal.editBlock(e.image, head, b -> Bytes.put64(b, 8, head));
      long total = e.base.sb().totalBlocks();
      e.inode(e.base.ino(FRAG), (b, off) -> Bytes.put32(b, off + 12, (int) total));
    }));
    out.add(new Damage("entry names a free inode", false, VICTIM, DIR, true,
        e -> e.entry(e.base.ino(DIR), "victim", e.freeInode(), 1)));
    out.add(new Damage("entry names another directory's file", false, VICTIM, DIR, true,
        e -> e.entry(e.base.ino(DIR), "victim", e.base.ino("/keep"), 1)));
    out.add(new Damage("chain goes on past its extent count", false, FRAG, DIR, true, e -> {
      long head = e.chainHead(e.base.ino(FRAG));
      int inFirst = Bytes.i32(ImageEdit.block(e.image, head, e.bs()), 0);
      e.inode(e.base.ino(FRAG), (b, off) -> Bytes.put32(b, off + 12, 8 + inFirst));
    }));
    out.add(new Damage("entry names inode 0", false, VICTIM, DIR, true,
        e -> e.entry(e.base.ino(DIR), "victim", 0, 1)));
    out.add(new Damage("entry names an inode past the table", false, VICTIM, DIR, true,
        e -> e.entry(e.base.ino(DIR), "victim", e.base.sb().inodeCount() + 5, 1)));
    out.add(new Damage("directory contains itself", false, SUB, SUB, true,
        e -> e.entry(e.base.ino(SUB), "x", e.base.ino(SUB), 2)));
    out.add(new Damage("two directories contain each other", false, SUB, SUB, true,
        e -> e.entry(e.base.ino(SUB), "x", e.base.ino(DIR), 2)));
    out.add(new Damage("two directories contain each other, parents rewired", false, SUB, SUB, true, e -> {
      e.entry(e.base.ino(SUB), "x", e.base.ino(DIR), 2);
      e.inode(e.base.ino(DIR), (b, off) -> Bytes.put32(b, off + 68, (int) e.base.ino(SUB)));
    }));
    out.add(new Damage("directory size far beyond its extents", false, DIR, DIR, true,
        e -> e.inode(e.base.ino(DIR), (b, off) -> Bytes.put64(b, off + 16, 496L << 40))));
    out.add(new Damage("file size far beyond its extents", false, VICTIM, DIR, false,
        e -> e.inode(e.base.ino(VICTIM), (b, off) -> Bytes.put64(b, off + 16, 1L << 40))));
    out.add(new Damage("link count 0 of a reachable file", false, VICTIM, DIR, true,
        e -> e.inode(e.base.ino(VICTIM), (b, off) -> Bytes.put32(b, off + 8, 0))));
    out.add(new Damage("link count 0 of a reachable directory", false, DIR, DIR, true,
        e -> e.inode(e.base.ino(DIR), (b, off) -> Bytes.put32(b, off + 8, 0))));
    out.add(new Damage("bitmap bits cleared for a file's blocks", false, VICTIM, DIR, true, e -> {
      long v = e.base.ino(VICTIM);
      e.clearBits(e.firstStart(v), e.firstCount(v));
    }));
    out.add(new Damage("Tags field garbage", true, VICTIM, DIR, true, e -> {
      InodeLayout.Field f = e.base.sb().layout().fieldFor(Module.TAGS);
      e.inode(e.base.ino(VICTIM), (b, off) -> {
        for (int i = 0; i < f.size(); i++) {
          b[off + f.offset() + i] = (byte) (0x5a + 37 * i);
        }
      });
    }));
    return out;
  }

  // ---------------------------------------------------------------- operations

  /** What a cell works on: the damage and the paths it names. */
  record Ctx(Damage damage) {
    String target(boolean damaged) {
      return damaged ? damage.path() : HEALTHY;
    }
  }

  interface Action {
    void run(VirtualDisk d, Ctx c, Cell cell) throws Exception;
  }

  /** How a successful operation changed the files (path to content). */
  interface ModelChange {
    void apply(Map<String, byte[]> files, Ctx c);
  }

  record Op(String name, Action action, ModelChange model) {
    @Override
    public String toString() {
      return name;
    }
  }

  static final byte[] WRITTEN = SeededBytes.bytes(900, 1300);
  static final byte[] PATCH = SeededBytes.bytes(901, 700);
  static final byte[] APPENDED = SeededBytes.bytes(902, 600);

  static List<Op> ops() {
    List<Op> out = new ArrayList<>();
    for (boolean damaged : new boolean[] {true, false}) {
      String who = damaged ? " damaged" : " healthy";
      out.add(new Op("read" + who, (d, c, cell) -> d.readFile(c.target(damaged)), (f, c) -> {}));
      out.add(new Op("stream" + who, (d, c, cell) -> d.readFile(c.target(damaged), new CappedSink()), (f, c) -> {}));
      out.add(new Op("read at" + who, (d, c, cell) -> d.read(c.target(damaged), 600, new byte[2000], 0, 2000),
          (f, c) -> {}));
      out.add(new Op("stat" + who, (d, c, cell) -> d.stat(c.target(damaged)), (f, c) -> {}));
      out.add(new Op("write" + who, (d, c, cell) -> d.writeFile(c.target(damaged), WRITTEN),
          (f, c) -> f.put(c.target(damaged), WRITTEN)));
      out.add(new Op("overwrite" + who, (d, c, cell) -> d.write(c.target(damaged), 300, PATCH, 0, PATCH.length),
          (f, c) -> f.computeIfPresent(c.target(damaged), (k, v) -> {
            byte[] n = Arrays.copyOf(v, Math.max(v.length, 300 + PATCH.length));
            System.arraycopy(PATCH, 0, n, 300, PATCH.length);
            return n;
          })));
      out.add(new Op("append" + who, (d, c, cell) -> d.append(c.target(damaged), APPENDED),
          (f, c) -> f.computeIfPresent(c.target(damaged), (k, v) -> concat(v, APPENDED))));
      out.add(new Op("truncate down" + who, (d, c, cell) -> d.truncate(c.target(damaged), 700),
          (f, c) -> f.computeIfPresent(c.target(damaged), (k, v) -> Arrays.copyOf(v, 700))));
      out.add(new Op("truncate up" + who, (d, c, cell) -> d.truncate(c.target(damaged), 5000),
          (f, c) -> f.computeIfPresent(c.target(damaged), (k, v) -> Arrays.copyOf(v, 5000))));
      out.add(new Op("delete" + who, (d, c, cell) -> d.delete(c.target(damaged)),
          (f, c) -> f.keySet().removeIf(k -> k.equals(c.target(damaged)) || k.startsWith(c.target(damaged) + "/"))));
      out.add(new Op("rename" + who, (d, c, cell) -> d.rename(c.target(damaged), "/moved"), (f, c) -> {
        String from = c.target(damaged);
        Map<String, byte[]> moved = new LinkedHashMap<>();
        f.entrySet().removeIf(e -> {
          if (e.getKey().equals(from) || e.getKey().startsWith(from + "/")) {
            moved.put("/moved" + e.getKey().substring(from.length()), e.getValue());
            return true;
          }
          return false;
        });
        f.putAll(moved);
      }));
    }
    out.add(new Op("list the damaged directory", (d, c, cell) -> d.list(c.damage().dir()), (f, c) -> {}));
    out.add(new Op("list entries of the damaged directory", (d, c, cell) -> d.listEntries(c.damage().dir()),
        (f, c) -> {}));
    out.add(new Op("exists", (d, c, cell) -> d.exists(c.damage().path() + "/x/y"), (f, c) -> {}));
    out.add(new Op("mkdir in the damaged directory", (d, c, cell) -> d.mkdir(c.damage().dir() + "/new"),
        (f, c) -> {}));
    out.add(new Op("mkdirs below the damaged path", (d, c, cell) -> d.mkdirs(c.damage().path() + "/p/q"),
        (f, c) -> {}));
    out.add(new Op("create a file in the damaged directory",
        (d, c, cell) -> d.writeFile(c.damage().dir() + "/created", APPENDED),
        (f, c) -> f.put(c.damage().dir() + "/created", APPENDED)));
    out.add(new Op("rename into the damaged directory", (d, c, cell) -> d.rename("/keep", c.damage().dir() + "/kept"),
        (f, c) -> f.put(c.damage().dir() + "/kept", f.remove("/keep"))));
    out.add(new Op("rm -r of the tree holding the damage", (d, c, cell) -> d.deleteRecursively(DIR),
        (f, c) -> f.keySet().removeIf(k -> k.startsWith(DIR + "/"))));
    out.add(new Op("set a tag on the damaged path", (d, c, cell) -> Tags.set(d, c.damage().path(), "new", "tag"),
        (f, c) -> {}));
    out.add(new Op("list tags of the damaged path", (d, c, cell) -> Tags.list(d, c.damage().path()), (f, c) -> {}));
    out.add(new Op("extent-aware copy", (d, c, cell) -> cell.copy(d, false), (f, c) -> {}));
    out.add(new Op("extent-aware copy with verify", (d, c, cell) -> cell.copy(d, true), (f, c) -> {}));
    out.add(new Op("inode migration", (d, c, cell) -> InodeMigration.start(d,
        List.of(c.damage().tags() ? Module.SECURITY : Module.TAGS), MigrationOptions.defaults()), (f, c) -> {}));
    out.add(new Op("padding claim", (d, c, cell) -> InPlaceAddition.add(d, List.of(Module.SUSTAINABILITY)),
        (f, c) -> {}));
    out.add(new Op("region addition", (d, c, cell) -> InPlaceAddition.add(d, List.of(Module.RAID)), (f, c) -> {}));
    out.add(new Op("verify", (d, c, cell) -> cell.verify(d), (f, c) -> {}));
    return out;
  }

  static Stream<Arguments> cells() {
    List<Arguments> out = new ArrayList<>();
    for (Damage dmg : damages()) {
      for (Op op : ops()) {
        out.add(Arguments.of(Named.of(dmg.name(), dmg), Named.of(op.name(), op)));
      }
    }
    return out.stream();
  }

  /** A stream sink that takes at most 4 MiB, so that a legitimately huge sparse file costs a bounded time. */
  static final class CappedSink extends OutputStream {
    static final long CAP = 4L << 20;
    long got;

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      got += len;
      if (got > CAP) {
        throw new CapReached();
      }
    }
  }

  /** The sink's own stop: not the engine's failure. */
  static final class CapReached extends IOException {
    CapReached() {
      super("the test's stream sink took its 4 MiB");
    }
  }

  // ---------------------------------------------------------------- the cell

  /** State of one cell: findings the operation itself makes (a copy, a verify). */
  static final class Cell {
    final Damage damage;
    final List<String> failures = new ArrayList<>();
    final Map<String, byte[]> readable;

    Cell(Damage damage, Map<String, byte[]> readable) {
      this.damage = damage;
      this.readable = readable;
    }

    void copy(VirtualDisk d, boolean verify) throws IOException {
      PowerLossDevice dest = new PowerLossDevice("copy");
      ExtentAwareCopy.copy(d, dest, CopyOptions.defaults().verify(verify));
      // The copy succeeded: it must be a clean volume holding what the source reads.
      try (VirtualDisk c = VirtualDisk.open(PowerLossDevice.fromImage(dest.snapshot()), OpenOptions.readOnlyOptions())) {
        VerifyReport r = c.verify(Progress.NONE);
        if (!r.clean()) {
          failures.add("the copy succeeded but carried damage into the new volume: " + r.problems());
        }
        for (Map.Entry<String, byte[]> e : readable.entrySet()) {
          try {
            if (!Arrays.equals(c.readFile(e.getKey()), e.getValue())) {
              failures.add("the copy succeeded but " + e.getKey() + " differs in it");
            }
          } catch (VdeException ex) {
            failures.add("the copy succeeded but " + e.getKey() + " cannot be read in it: " + ex);
          }
        }
      }
    }

    void verify(VirtualDisk d) throws IOException {
      VerifyReport r = d.verify(Progress.NONE);
      if (damage.isDamage() && r.clean()) {
        failures.add("verify called the damaged volume clean");
      }
    }
  }

  /** Files of the base that read without error on {@code image} (read-only), with what they read. */
  private static Map<String, byte[]> readable(byte[] image, Iterable<String> paths) throws IOException {
    Map<String, byte[]> out = new LinkedHashMap<>();
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(image), OpenOptions.readOnlyOptions())) {
      for (String p : paths) {
        try {
          if (d.stat(p).size() <= 1 << 20) {
            out.put(p, d.readFile(p));
          }
        } catch (VdeException e) {
          // unreadable before the operation: nothing to keep
        }
      }
    }
    return out;
  }

  private static Throwable runBounded(String what, Callable work) throws Exception {
    Future<Throwable> f = CELLS.submit(() -> {
      try {
        work.call();
        return null;
      } catch (Throwable t) {
        return t;
      }
    });
    try {
      return f.get(CELL_SECONDS, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      f.cancel(true);
      throw new AssertionError(what + " did not end within " + CELL_SECONDS + " s");
    } catch (ExecutionException e) {
      throw new AssertionError(what, e.getCause());
    }
  }

  interface Callable {
    void call() throws Exception;
  }

  /** A raw exception or error escaping the engine, described, or null when {@code t} is allowed. */
  private static String raw(String what, Throwable t) {
    if (t == null || t instanceof VdeException || t instanceof CapReached) {
      return null;
    }
    java.io.StringWriter w = new java.io.StringWriter();
    t.printStackTrace(new java.io.PrintWriter(w));
    String s = w.toString();
    return what + " threw " + s.substring(0, Math.min(s.length(), 1500));
  }

  /**
   * A chain whose last block points on to another block holds more extents than its inode counts: the engine used
   * to read the counted ones and ignore the rest, and a copy carried the chain as it was.
   */
  @org.junit.jupiter.api.Test
  void read_ofAFileWhoseChainGoesOnPastItsCount_isRefusedNamingTheBlock() throws Exception {
    Damage runsOn = damages().stream().filter(x -> x.name().equals("chain goes on past its extent count"))
        .findFirst().orElseThrow();
    Edit e = new Edit(base(false));
    runsOn.edit().accept(e);
    long head = e.chainHead(e.base.ino(FRAG));
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(e.image), OpenOptions.readOnlyOptions())) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> d.readFile(FRAG))
          .isInstanceOf(dev.vde.VdeCorruptedException.class).hasMessageContaining("block " + head)
          .hasMessageContaining("goes on past");
    }
  }

  /**
   * Damage in the directory tree (entries, cycles, link counts, a directory's size): the copy carried the directory
   * blocks and inode records over as they were, into a volume that looked new and failed fsck at once. It must
   * refuse, naming the damage.
   */
  @ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.ValueSource(strings = {"entry names a free inode",
      "entry names another directory's file", "entry names an inode past the table", "directory contains itself",
      "two directories contain each other", "two directories contain each other, parents rewired",
      "directory size far beyond its extents", "link count 0 of a reachable file",
      "link count 0 of a reachable directory"})
  void copy_ofAVolumeWithTreeDamage_isRefused(String name) throws Exception {
    Damage damage = damages().stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow();
    Edit e = new Edit(base(false));
    damage.edit().accept(e);
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(e.image), OpenOptions.readOnlyOptions())) {
      org.assertj.core.api.Assertions.assertThatThrownBy(
          () -> ExtentAwareCopy.copy(d, new PowerLossDevice("copy"), CopyOptions.defaults()))
          .isInstanceOf(dev.vde.VdeCorruptedException.class)
          .hasMessageContaining("a copy does not carry damage into a new volume");
    }
  }

  /**
   * A directory whose link count was damaged to 0 (it holds one subdirectory: 3 is right). Removing that
   * subdirectory took the count to -1, stored as 4294967295 in the u32 field, in silence; it must be refused, and
   * the count left as it was.
   */
  @org.junit.jupiter.api.Test
  void removingASubdirectory_ofADirectoryWhoseLinkCountIsZero_isRefused() throws Exception {
    Edit e = new Edit(base(false));
    e.inode(e.base.ino(DIR), (b, off) -> Bytes.put32(b, off + 8, 0));
    PowerLossDevice dev = PowerLossDevice.fromImage(e.image);
    try (VirtualDisk d = VirtualDisk.open(dev, OpenOptions.defaults())) {
      d.delete(SUB + "/x");
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> d.delete(SUB))
          .isInstanceOf(dev.vde.VdeCorruptedException.class).hasMessageContaining("link count 0");
      assertThat(d.stat(DIR).linkCount()).isZero();
      assertThat(d.exists(SUB)).isTrue();
    }
  }

  @ParameterizedTest(name = "{0} x {1}")
  @MethodSource("cells")
  void damagedVolume_operationEndsCleanlyAndKeepsWhatWasReadable(Damage damage, Op op) throws Exception {
    Base base = base(damage.tags());
    Edit e = new Edit(base);
    damage.edit().accept(e);
    byte[] image = e.image;
    Map<String, byte[]> before = readable(image, base.files().keySet());
    Cell cell = new Cell(damage, before);
    Ctx ctx = new Ctx(damage);

    PowerLossDevice dev = PowerLossDevice.fromImage(image);
    boolean[] ok = {false};
    Throwable t = runBounded(op.name(), () -> {
      try (VirtualDisk d = VirtualDisk.open(dev, OpenOptions.defaults())) {
        op.action().run(d, ctx, cell);
        ok[0] = true;
      }
    });
    List<String> failures = new ArrayList<>(cell.failures);
    String r = raw(op.name(), t);
    if (r != null) {
      failures.add(r);
    }

    // What must still read the same: what read before, as the operation (if it succeeded) changed it.
    Map<String, byte[]> expected = new LinkedHashMap<>(before);
    if (ok[0]) {
      op.model().apply(expected, ctx);
    }
    // A recursive delete is one transaction per entry: one that stops on the damage has deleted some of the tree.
    String mayVanish = !ok[0] && op.name().startsWith("rm -r") ? DIR + "/" : null;
    byte[] after = dev.snapshot();
    if (!TRUSTED.contains(damage.name())) {
      failures.addAll(reuseFreedSpaceAndCheck(after, expected, mayVanish, op.name()));
    }
    assertThat(failures).as(damage + " x " + op).isEmpty();
  }

  /**
   * Opens the image the operation left, makes the blocks it freed reusable and reuses them all with new files,
   * then checks that every file of {@code expected} reads as expected: freeing blocks another file still maps
   * shows up here as that file's loss.
   */
  private static List<String> reuseFreedSpaceAndCheck(byte[] after, Map<String, byte[]> expected, String mayVanish,
      String op)
      throws Exception {
    List<String> failures = new ArrayList<>();
    PowerLossDevice dev = PowerLossDevice.fromImage(after);
    Throwable t = runBounded("reusing the space after " + op, () -> {
      try (VirtualDisk d = VirtualDisk.open(dev, OpenOptions.defaults())) {
        if (d.isReadOnly()) {
          return;
        }
        d.checkpoint();
        for (int i = 0; i < 400; i++) {
          try {
            d.writeFile("/fill" + i, SeededBytes.bytes(5000 + i, 4 * 496));
          } catch (VdeException full) {
            break;
          }
        }
      } catch (VdeException refused) {
        // a volume the engine refuses to write keeps its damage as it is
      }
    });
    String r = raw("reusing the space after " + op, t);
    if (r != null) {
      failures.add(r);
    }
    Throwable t2 = runBounded("reading back after " + op, () -> {
      try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(dev.snapshot()), OpenOptions.readOnlyOptions())) {
        for (Map.Entry<String, byte[]> e : expected.entrySet()) {
          byte[] got;
          try {
            got = d.readFile(e.getKey());
          } catch (dev.vde.VdeNotFoundException gone) {
            if (mayVanish == null || !e.getKey().startsWith(mayVanish)) {
              failures.add(e.getKey() + " read before " + op + " and is gone: " + gone.getMessage());
            }
            continue;
          } catch (VdeException ex) {
            failures.add(e.getKey() + " read before " + op + " and no longer does: " + ex.getMessage());
            continue;
          }
          if (!Arrays.equals(got, e.getValue())) {
            failures.add(e.getKey() + " reads differently after " + op + " and reuse of the freed space");
          }
        }
      }
    });
    if (t2 instanceof VdeException) {
      failures.add("the volume no longer opens after " + op + ": " + t2);
    } else if (t2 != null) {
      failures.add(raw("reading back after " + op, t2));
    }
    return failures;
  }
}
