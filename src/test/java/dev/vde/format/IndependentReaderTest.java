package dev.vde.format;

import static org.assertj.core.api.Assertions.assertThat;

import com.dynatrace.hash4j.hashing.Hasher64;
import com.dynatrace.hash4j.hashing.Hashing;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.DirEntry;
import dev.vde.fs.FileStat;
import dev.vde.fs.FileType;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InPlaceAddition;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.module.Tags;
import dev.vde.testing.PowerLossDevice;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An independent reader written only from docs/FORMAT.md (plain byte arithmetic + hash4j XXH3-64); it does not use
 * any dev.vde production class. The tests build images with the engine and compare what the reader sees with what
 * the engine API reports.
 */
class IndependentReaderTest {

  @TempDir Path tmp;

  // =============================================================================================== the reader

  /** Reader of one host-file image, from FORMAT.md alone. */
  static final class DocReader {
    static final Hasher64 XXH3 = Hashing.xxh3_64();
    static final int SUPB = 0x42505553, RDIR = 0x52494452, BMAP = 0x50414d42, INOD = 0x444f4e49, MWAL = 0x4c41574d,
        MCMT = 0x544d434d, DATA = 0x41544144, DIRE = 0x45524944, XTNT = 0x544e5458, MCHK = 0x4b48434d,
        INOM = 0x4d4f4e49, INOO = 0x4f4f4e49, MAGIC = 0x31454456;

    final byte[] img;
    final List<String> problems = new ArrayList<>();
    int bs;
    ByteBuffer sb; // the chosen superblock block (possibly replaced by a WAL superblock image)
    long sequence;
    final Map<Long, byte[]> overlay = new HashMap<>();
    int walTransactionsApplied;
    final Map<String, Integer> walImageTags = new TreeMap<>();
    int walDataChecks;
    final List<long[]> regions = new ArrayList<>(); // {tag, flags, start, blocks}
    byte[] bitmap;
    int inodeSize;
    long inodeCount;
    long initBlocks;
    long inodTableStart, inodTableBlocks;
    final List<int[]> layout = new ArrayList<>(); // {moduleId, offset, size}
    final Set<Long> referenced = new HashSet<>();
    /** Section 12: every referenced block has one owner; block -> inode number. */
    final Map<Long, Long> owners = new HashMap<>();

    DocReader(byte[] img, boolean replayWal) {
      this.img = img;
      pickSuperblock();
      if (replayWal) {
        replayWal();
      }
      if (sb.getShort(4) != 1) {
        throw new AssertionError("format version " + u16(sb, 4) + "." + u16(sb, 6) + " after recovery: refused");
      }
      readRegionDirectory();
      readBitmap();
      readLayout();
      RegionRec inod = region(INOD, false);
      inodTableStart = inod.start;
      inodTableBlocks = inod.blocks;
    }

    static ByteBuffer le(byte[] b) {
      return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    void zeros(byte[] b, int from, int to, String what) {
      for (int i = from; i < to; i++) {
        if (b[i] != 0) {
          problem(what + ": byte " + i + " not zero (" + (b[i] & 0xff) + ")");
          return;
        }
      }
    }

    void problem(String s) {
      problems.add(s);
    }

    /**
     * Section 12: a block an inode references lies outside the superblocks, the region directory and every region,
     * and is referenced once. {@code mine} holds what this reading of inode {@code n} claimed so far: reading an
     * inode again (or its copy in a migration's new table) claims the same blocks for the same owner.
     */
    void claim(long block, long n, Set<Long> mine) {
      referenced.add(block);
      if (block < sb.getLong(128) + u32(sb, 136)) {
        problem("inode " + n + " references block " + block + " of the superblocks or region directory");
      }
      for (RegionRec r : regionList) {
        if (block >= r.start && block < r.start + r.blocks) {
          problem("inode " + n + " references block " + block + " of region " + tagName(r.tag));
        }
      }
      Long prev = owners.putIfAbsent(block, n);
      if (!mine.add(block) || prev != null && prev != n) {
        problem("block " + block + " referenced twice (inode " + n + ", " + (prev == null ? n : prev) + ")");
      }
    }

    // ------------------------------------------------------------------------------- blocks and trailers

    byte[] raw(long n) {
      byte[] b = new byte[bs];
      long off = n * bs;
      if (off < img.length) {
        System.arraycopy(img, (int) off, b, 0, (int) Math.min(bs, img.length - off));
      }
      return b;
    }

    byte[] block(long n) {
      byte[] o = overlay.get(n);
      return o != null ? o.clone() : raw(n);
    }

    static long checksumOf(byte[] b) {
      return XXH3.hashBytesToLong(b, 0, b.length - 16);
    }

    static boolean trailerOk(byte[] b) {
      return le(b).getLong(b.length - 8) == checksumOf(b);
    }

    static int tagOf(byte[] b) {
      return le(b).getInt(b.length - 16);
    }

    static int genOf(byte[] b) {
      return le(b).getInt(b.length - 12);
    }

    /** Section 2: checksum, then tag, then (where given) generation. */
    byte[] checked(long n, int tag, Long gen, String what) {
      byte[] b = block(n);
      if (!trailerOk(b)) {
        problem(what + ": block " + n + " checksum mismatch");
      } else if (tagOf(b) != tag) {
        problem(what + ": block " + n + " tag " + Integer.toHexString(tagOf(b)) + " != " + Integer.toHexString(tag));
      } else if (gen != null && (genOf(b) & 0xffffffffL) != (gen & 0xffffffffL)) {
        problem(what + ": block " + n + " generation " + genOf(b) + " != " + gen);
      }
      return b;
    }

    // ------------------------------------------------------------------------------- superblock (5)

    void pickSuperblock() {
      ByteBuffer best = null;
      int bestBs = 0;
      long bestSeq = -1;
      for (int s = 512; s <= 65536; s <<= 1) {
        for (int slot = 0; slot < 2; slot++) {
          long off = (long) slot * s;
          if (off + s > img.length) {
            continue;
          }
          ByteBuffer b = le(Arrays.copyOfRange(img, (int) off, (int) off + s));
          if (b.getInt(0) != MAGIC || b.getInt(8) != s) {
            continue;
          }
          byte[] arr = b.array();
          if (!trailerOk(arr) || tagOf(arr) != SUPB) {
            continue;
          }
          long seq = b.getLong(56);
          if (seq % 2 != slot) {
            continue;
          }
          if ((genOf(arr) & 0xffffffffL) != (seq & 0xffffffffL)) {
            continue;
          }
          if (b.getShort(4) != 1) {
            continue;
          }
          if (seq > bestSeq) {
            best = b;
            bestSeq = seq;
            bestBs = s;
          }
        }
      }
      if (best == null) {
        throw new AssertionError("no valid superblock");
      }
      sb = best;
      bs = bestBs;
      sequence = bestSeq;
      // section 5: the label is UTF-8; bytes that are not are damage (shown replaced, kept as stored)
      int n = 0;
      while (n < 64 && sb.get(184 + n) != 0) {
        n++;
      }
      try {
        StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(sb.array(), 184, n));
      } catch (java.nio.charset.CharacterCodingException e) {
        problem("superblock label is not UTF-8");
      }
    }

    int u16(ByteBuffer b, int off) {
      return b.getShort(off) & 0xffff;
    }

    long u32(ByteBuffer b, int off) {
      return b.getInt(off) & 0xffffffffL;
    }

    long totalBlocks() {
      return sb.getLong(16);
    }

    long incompat() {
      return sb.getLong(80);
    }

    long walStart() {
      return sb.getLong(144);
    }

    long walBlocks() {
      return sb.getLong(152);
    }

    String label() {
      int n = 0;
      while (n < 64 && sb.get(184 + n) != 0) {
        n++;
      }
      return new String(sb.array(), 184, n, StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------------------- WAL (15)

    void replayWal() {
      long expect = sb.getLong(160) + 1;
      long salt = sb.getLong(168);
      long ws = walStart(), wb = walBlocks();
      int maxEntries = (bs - 48) / 16;
      long pos = 0;
      while (pos < wb) {
        long p = pos;
        boolean ok = true;
        int descriptors = 0;
        long totalEntries = 0;
        ByteArrayOutputStream chain = new ByteArrayOutputStream();
        ByteArrayOutputStream trailers = new ByteArrayOutputStream();
        Map<Long, byte[]> staged = new LinkedHashMap<>();
        int firstDescriptor = descriptorFacts.size();
        while (true) {
          if (p >= wb) {
            ok = false;
            break;
          }
          byte[] d = raw(ws + p);
          ByteBuffer db = le(d);
          if (!trailerOk(d) || tagOf(d) != MWAL || db.getLong(0) != expect || db.getLong(8) != salt
              || u32(db, 16) > maxEntries) {
            ok = false;
            break;
          }
          descriptors++;
          chain.writeBytes(le(new byte[8]).putLong(0, checksumOf(d)).array());
          int count = db.getInt(16);
          int flags = db.getInt(20);
          long checkGen = db.getLong(24);
          descriptorFacts.add(new long[] {ws + p, genOf(d) & 0xffffffffL, count, checkGen});
          p++;
          for (int k = 0; k < count && ok; k++) {
            long ref = db.getLong(32 + 16 * k);
            long cs = db.getLong(40 + 16 * k);
            entryKinds.computeIfAbsent(descriptorFacts.size() - 1, x -> new StringBuilder()).append(ref < 0 ? 'C' : 'I');
            if (ref < 0) { // data check
              long blk = ref & Long.MAX_VALUE;
              byte[] data = raw(blk);
              if (blk >= totalBlocks() || !trailerOk(data) || checksumOf(data) != cs) {
                ok = false;
              } else if (++walDataChecks > 0 && (checkGen & (1L << 32)) != 0
                  && (tagOf(data) != DATA || (genOf(data) & 0xffffffffL) != (checkGen & 0xffffffffL))) {
                ok = false;
              }
            } else {
              if (p >= wb) {
                ok = false;
                break;
              }
              byte[] im = raw(ws + p);
              p++;
              if (!trailerOk(im) || checksumOf(im) != cs || ref >= totalBlocks() || ref == 1
                  || (ref >= ws && ref < ws + wb) || ref == 0 && !sameGeometry(le(im))) {
                ok = false;
              }
              chain.writeBytes(le(new byte[8]).putLong(0, checksumOf(im)).array());
              trailers.write(im, bs - 16, 8);
              staged.put(ref, im);
            }
          }
          totalEntries += count;
          if (!ok || (flags & 1) != 0) {
            break;
          }
        }
        if (!ok || p >= wb) {
          break;
        }
        byte[] c = raw(ws + p);
        ByteBuffer cb = le(c);
        byte[] ch = chain.toByteArray();
        byte[] tr = trailers.toByteArray();
        if (!trailerOk(c) || tagOf(c) != MCMT || cb.getLong(0) != expect || cb.getLong(8) != salt
            || u32(cb, 16) != descriptors || u32(cb, 20) != totalEntries
            || cb.getLong(24) != XXH3.hashBytesToLong(ch, 0, ch.length)
            || ((cb.getInt(40) & 1) != 0 && cb.getLong(32) != XXH3.hashBytesToLong(tr, 0, tr.length))) {
          break;
        }
        checkWalHabits(expect, pos, c, firstDescriptor);
        for (Map.Entry<Long, byte[]> e : staged.entrySet()) {
          walImageTags.merge(e.getKey() == 0 ? "SUPB(ref 0)" : tagName(tagOf(e.getValue())), 1, Integer::sum);
          if (e.getKey() == 0) {
            // superblock image: sequence, checkpointTxId and walSalt are not taken from it
            ByteBuffer ni = le(e.getValue().clone());
            ni.putLong(56, sb.getLong(56));
            ni.putLong(160, sb.getLong(160));
            ni.putLong(168, sb.getLong(168));
            sb = ni;
          } else {
            overlay.put(e.getKey(), e.getValue());
          }
        }
        walTransactionsApplied++;
        expect++;
        pos = p + 1;
      }
    }

    /** Per descriptor of the transaction being read: {txId, trailer generation, entryCount, checkGeneration}. */
    final List<long[]> descriptorFacts = new ArrayList<>();
    /** Per descriptor index in {@link #descriptorFacts}: its entries in order, 'I' image, 'C' data check. */
    final Map<Integer, StringBuilder> entryKinds = new HashMap<>();
    /** Descriptors read in committed transactions, and the most data-check owners one transaction had. */
    int walDescriptors;
    int walMostDescriptors;
    int walMostCheckOwners;

    /**
     * Section 15, for a committed transaction starting at WAL block {@code first}: what the text says this engine
     * writes. Descriptor and commit generations are the low 32 bits of the txId; entries past entryCount are zero;
     * images come before data checks, and no descriptor after the first one holding a data check holds an image;
     * checkGeneration is 0 in a descriptor without data checks and bit 32 plus the owner (bits 33-63 zero) in one
     * with them; the commit block has flags 1 and zeros from byte 44 to the trailer.
     */
    void checkWalHabits(long txId, long first, byte[] commit, int firstDescriptor) {
      String tx = "WAL transaction " + txId + " (WAL block " + first + ")";
      if (first == 0 && txId != sb.getLong(160) + 1) {
        problem(tx + ": the first transaction after a checkpoint must have id checkpointTxId + 1");
      }
      if ((genOf(commit) & 0xffffffffL) != (txId & 0xffffffffL)) {
        problem(tx + ": commit generation " + genOf(commit));
      }
      if (le(commit).getInt(40) != 1) {
        problem(tx + ": commit flags " + le(commit).getInt(40) + ", this engine writes 1");
      }
      zeros(commit, 44, bs - 16, tx + " commit tail");
      boolean checksSeen = false;
      Set<Long> owners = new HashSet<>();
      for (int i = firstDescriptor; i < descriptorFacts.size(); i++) {
        long[] f = descriptorFacts.get(i);
        String kinds = entryKinds.getOrDefault(i, new StringBuilder()).toString();
        if (f[1] != (txId & 0xffffffffL)) {
          problem(tx + ": descriptor generation " + f[1]);
        }
        zeros(raw(f[0]), 32 + 16 * (int) f[2], bs - 16, tx + " descriptor past its entries");
        if (kinds.contains("CI")) {
          problem(tx + ": an image entry after a data check in one descriptor: " + kinds);
        }
        if (checksSeen && kinds.contains("I")) {
          problem(tx + ": a descriptor after one holding data checks holds an image");
        }
        boolean checks = kinds.contains("C");
        checksSeen |= checks;
        long cg = f[3];
        if (!checks && cg != 0) {
          problem(tx + ": checkGeneration " + Long.toHexString(cg) + " in a descriptor without data checks");
        }
        if (checks && (cg >>> 32) != 1) {
          problem(tx + ": checkGeneration " + Long.toHexString(cg) + " in a descriptor with data checks");
        }
        if (checks) {
          owners.add(cg & 0xffffffffL);
        }
      }
      walDescriptors += descriptorFacts.size() - firstDescriptor;
      walMostDescriptors = Math.max(walMostDescriptors, descriptorFacts.size() - firstDescriptor);
      walMostCheckOwners = Math.max(walMostCheckOwners, owners.size());
    }

    /**
     * Section 15: a superblock image is itself a valid superblock (here: magic, tag and the fields the
     * reader relies on) and keeps the block size, total blocks, UUID, creation time and the places of the region
     * directory and the WAL of the copy in place.
     */
    boolean sameGeometry(ByteBuffer im) {
      byte[] a = im.array();
      // The version is not judged here but on the recovered superblock (section 5, step 4; section 15).
      if (im.getInt(0) != MAGIC || tagOf(a) != SUPB) {
        return false;
      }
      for (int[] f : new int[][] {{8, 4}, {16, 8}, {24, 8}, {32, 8}, {40, 8}, {128, 8}, {136, 4}, {144, 8},
          {152, 8}}) {
        long mine = f[1] == 4 ? u32(im, f[0]) : im.getLong(f[0]);
        long theirs = f[1] == 4 ? u32(sb, f[0]) : sb.getLong(f[0]);
        if (mine != theirs) {
          return false;
        }
      }
      return true;
    }

    // ------------------------------------------------------------------------------- region directory (7)

    record RegionRec(int tag, int flags, long start, long blocks) {}

    final List<RegionRec> regionList = new ArrayList<>();

    void readRegionDirectory() {
      long start = sb.getLong(128);
      long n = u32(sb, 136);
      int per = (bs - 24) / 24;
      for (int i = 0; i < n; i++) {
        ByteBuffer b = le(checked(start + i, RDIR, (long) i, "RDIR"));
        int count = b.getInt(0);
        if (count > per) {
          problem("RDIR count " + count + " > " + per);
          continue;
        }
        zeros(b.array(), 4, 8, "RDIR zero");
        zeros(b.array(), 8 + 24 * count, bs - 16, "RDIR tail");
        for (int k = 0; k < count; k++) {
          int o = 8 + 24 * k;
          RegionRec r = new RegionRec(b.getInt(o), b.getInt(o + 4), b.getLong(o + 8), b.getLong(o + 16));
          // section 7: the six core tags are all there are; a core entry with another is damage
          if ((r.flags & 1) == 0 && r.tag != BMAP && r.tag != MWAL && r.tag != MCHK && r.tag != INOD
              && r.tag != INOM && r.tag != INOO) {
            problem("RDIR block " + i + " entry " + k + ": unknown core tag " + Integer.toHexString(r.tag));
          }
          regionList.add(r);
        }
      }
    }

    RegionRec region(int tag, boolean module) {
      for (RegionRec r : regionList) {
        if (r.tag == tag && ((r.flags & 1) != 0) == module) {
          return r;
        }
      }
      return null;
    }

    // ------------------------------------------------------------------------------- bitmap (8)

    void readBitmap() {
      RegionRec r = region(BMAP, false);
      int perBlock = (bs - 16) * 8;
      long n = (totalBlocks() + perBlock - 1) / perBlock;
      bitmap = new byte[(int) (n * (bs - 16))];
      for (int i = 0; i < n; i++) {
        byte[] b = checked(r.start + i, BMAP, (long) i, "BMAP");
        System.arraycopy(b, 0, bitmap, i * (bs - 16), bs - 16);
      }
      long free = 0;
      for (long b = 0; b < totalBlocks(); b++) {
        if (!allocated(b)) {
          free++;
        }
      }
      for (long b = totalBlocks(); b < (long) bitmap.length * 8; b++) {
        if (allocated(b)) {
          problem("bitmap bit past totalBlocks set: " + b);
        }
      }
      if (free != sb.getLong(120)) {
        problem("freeBlocks " + sb.getLong(120) + " but bitmap has " + free + " clear bits");
      }
      for (RegionRec rr : regionList) {
        for (long b = rr.start; b < rr.start + rr.blocks; b++) {
          if (!allocated(b)) {
            problem("region " + tagName(rr.tag) + " block " + b + " free in bitmap");
          }
        }
      }
    }

    boolean allocated(long b) {
      return (bitmap[(int) (b >>> 3)] >> (b & 7) & 1) != 0;
    }

    static String tagName(int t) {
      return new String(le(new byte[4]).putInt(0, t).array(), StandardCharsets.US_ASCII);
    }

    // ------------------------------------------------------------------------------- layout (10)

    void readLayout() {
      inodeSize = sb.getInt(12);
      inodeCount = sb.getLong(104);
      initBlocks = sb.getLong(176);
      layout.clear();
      layout.addAll(parseLayout(sb, 248, inodeSize));
      zeros(sb.array(), 140, 144, "superblock reserved 140");
      zeros(sb.array(), 96, 104, "superblock moduleConfig");
      zeros(sb.array(), 248 + 8 + 8 * layout.size(), bs - 16, "superblock after layout");
      zeros(sb.array(), 252, 256, "layout zero");
    }

    List<int[]> parseLayout(ByteBuffer b, int off, int inoSize) {
      List<int[]> out = new ArrayList<>();
      if (u16(b, off) != 304) {
        problem("coreSize " + u16(b, off));
      }
      int fc = u16(b, off + 2);
      if (fc > 19) {
        problem("fieldCount " + fc);
        return out;
      }
      for (int k = 0; k < fc; k++) {
        int o = off + 8 + 8 * k;
        int[] f = {u16(b, o), u16(b, o + 2), u16(b, o + 4)};
        if (f[1] < 304 || f[1] + f[2] > inoSize || f[2] == 0) {
          problem("field outside inode: " + Arrays.toString(f));
        }
        out.add(f);
      }
      return out;
    }

    int[] field(int moduleId) {
      for (int[] f : layout) {
        if (f[0] == moduleId) {
          return f;
        }
      }
      return null;
    }

    // ------------------------------------------------------------------------------- inodes (9) + extents (12)

    record Ino(long n, int type, int perms, long links, long extentCount, long size, long created, long modified,
        long accessed, long changed, long indirect, long generation, long parent, byte[] rec, List<long[]> extents) {}

    int ipb() {
      return (bs - 16) / inodeSize;
    }

    Ino inode(long n) {
      return inodeFrom(inodTableStart, inodeSize, initBlocks, n);
    }

    Ino inodeFrom(long tableStart, int size, long init, long n) {
      int ipb = (bs - 16) / size;
      long tb = n / ipb;
      if (tb >= init) {
        return null; // lazily initialized: free
      }
      byte[] b = checked(tableStart + tb, INOD, tb, "INOD");
      byte[] rec = Arrays.copyOfRange(b, (int) (n % ipb) * size, (int) (n % ipb) * size + size);
      ByteBuffer r = le(rec);
      int type = r.get(4) & 0xff;
      if (type == 0) {
        for (byte x : rec) {
          if (x != 0) {
            problem("free inode " + n + " not all zero");
            break;
          }
        }
        return null;
      }
      if (u32(r, 0) != n) {
        problem("inode " + n + " number field " + u32(r, 0));
      }
      long ec = u32(r, 12);
      if (tb == 0 || n % ipb == 0) {
        zeros(b, ipb * size, bs - 16, "INOD block " + tb + " tail");
      }
      zeros(rec, 5, 6, "inode " + n + " flags");
      zeros(rec, 72, 80, "inode " + n + " reserved 72");
      zeros(rec, 80 + 24 * (int) Math.min(8, ec), 272, "inode " + n + " unused extent slots");
      zeros(rec, 272, 304, "inode " + n + " reserved 272");
      if (size == inodeSize) {
        byte[] pad = rec.clone();
        for (int[] f : layout) {
          Arrays.fill(pad, f[1], f[1] + f[2], (byte) 0);
        }
        zeros(pad, 304, size, "inode " + n + " padding");
      }
      for (int k = 0; k < Math.min(8, ec); k++) {
        zeros(rec, 80 + 24 * k + 20, 80 + 24 * k + 24, "inode " + n + " extent reserved");
      }
      List<long[]> ext = new ArrayList<>();
      Set<Long> mine = new HashSet<>();
      for (int k = 0; k < Math.min(8, ec); k++) {
        int o = 80 + 24 * k;
        ext.add(new long[] {r.getLong(o), r.getLong(o + 8), u32(r, o + 16)});
      }
      long indirect = r.getLong(56);
      if (ec > 8) {
        int per = (bs - 32) / 24;
        boolean loose = (incompat() & 4) != 0;
        long next = indirect;
        Set<Long> seen = new HashSet<>();
        long want = ec - 8;
        List<Integer> counts = new ArrayList<>();
        while (next != 0) {
          if (!seen.add(next) || seen.size() > want) {
            problem("inode " + n + ": extent chain loop/too long");
            break;
          }
          claim(next, n, mine);
          ByteBuffer x = le(checked(next, XTNT, n, "XTNT of " + n));
          int c = x.getInt(0);
          if (c < 1 || c > per) {
            problem("inode " + n + ": XTNT count " + c);
            break;
          }
          counts.add(c);
          zeros(x.array(), 4, 8, "XTNT reserved");
          zeros(x.array(), 16 + 24 * c, bs - 16, "XTNT tail");
          for (int k = 0; k < c; k++) {
            int o = 16 + 24 * k;
            ext.add(new long[] {x.getLong(o), x.getLong(o + 8), u32(x, o + 16)});
            zeros(x.array(), o + 20, o + 24, "XTNT of " + n + " extent reserved");
          }
          next = x.getLong(8);
        }
        if (ext.size() != ec) {
          problem("inode " + n + ": " + ext.size() + " extents read, extentCount " + ec);
        }
        if (!loose) {
          for (int i = 0; i + 1 < counts.size(); i++) {
            if (counts.get(i) != per) {
              problem("inode " + n + ": partly filled XTNT block before last without LOOSE bit: " + counts);
            }
          }
        }
      } else if (indirect != 0) {
        problem("inode " + n + ": indirectBlock set with " + ec + " extents");
      }
      long prevEnd = -1;
      for (long[] e : ext) {
        // Section 12: count 1 .. 2^31 - 1, logical + count <= 2^63 - 1 (logical below 2^63 by section 1).
        if (e[0] < prevEnd || e[1] <= 0 || e[2] <= 0 || e[2] > Integer.MAX_VALUE || e[1] > totalBlocks() - e[2]
            || e[0] > Long.MAX_VALUE - e[2]) {
          problem("inode " + n + ": bad extent " + Arrays.toString(e));
          continue;
        }
        prevEnd = e[0] + e[2];
        for (long pb = e[1]; pb < e[1] + e[2]; pb++) {
          claim(pb, n, mine);
        }
      }
      return new Ino(n, type, u16(r, 6), u32(r, 8), ec, r.getLong(16), r.getLong(24), r.getLong(32), r.getLong(40),
          r.getLong(48), indirect, u32(r, 64), u32(r, 68), rec, ext);
    }

    byte[] moduleField(Ino ino, int moduleId) {
      int[] f = field(moduleId);
      return f == null ? null : Arrays.copyOfRange(ino.rec, f[1], f[1] + f[2]);
    }

    // ------------------------------------------------------------------------------- directories (13), data (14)

    record Entry(String name, long inode, int type) {}

    List<Entry> dirEntries(Ino dir) {
      int p = bs - 16;
      List<Entry> out = new ArrayList<>();
      if (dir.size % p != 0) {
        problem("dir " + dir.n + ": size " + dir.size + " not a multiple of " + p);
      }
      long n = dir.size / p;
      Set<String> names = new HashSet<>();
      Map<Long, Long> map = logicalMap(dir);
      for (long l = 0; l < n; l++) {
        Long phys = map.get(l);
        if (phys == null) {
          problem("dir " + dir.n + ": hole at logical " + l);
          continue;
        }
        ByteBuffer b = le(checked(phys, DIRE, dir.n, "DIRE of " + dir.n));
        int count = u16(b, 0);
        int used = u16(b, 2);
        int o = 8;
        for (int k = 0; k < count; k++) {
          long ino = u32(b, o);
          int type = b.get(o + 4) & 0xff;
          int len = b.get(o + 5) & 0xff;
          String name = new String(b.array(), o + 6, len, StandardCharsets.UTF_8);
          if (!names.add(name)) {
            problem("dir " + dir.n + ": name '" + name + "' appears twice");
          }
          out.add(new Entry(name, ino, type));
          o += 6 + len;
        }
        zeros(b.array(), 4, 8, "DIRE reserved");
        zeros(b.array(), o, bs - 16, "DIRE tail of dir " + dir.n);
        if (o != 8 + used) {
          problem("dir " + dir.n + " block " + l + ": entries end at " + o + ", usedBytes " + used);
        }
      }
      return out;
    }

    Map<Long, Long> logicalMap(Ino ino) {
      Map<Long, Long> m = new HashMap<>();
      for (long[] e : ino.extents) {
        for (long i = 0; i < e[2]; i++) {
          m.put(e[0] + i, e[1] + i);
        }
      }
      return m;
    }

    byte[] fileData(Ino f) {
      int p = bs - 16;
      byte[] out = new byte[Math.toIntExact(f.size)];
      long lastLogical = (f.size + p - 1) / p;
      for (long[] e : f.extents) {
        for (long i = 0; i < e[2]; i++) {
          long l = e[0] + i;
          if (l >= lastLogical) {
            problem("file " + f.n + ": logical block " + l + " mapped past size " + f.size);
            continue;
          }
          byte[] b = checked(e[1] + i, DATA, f.n, "DATA of " + f.n);
          int len = (int) Math.min(p, f.size - l * p);
          System.arraycopy(b, 0, out, (int) (l * p), len);
          for (int j = len; j < p; j++) {
            if (b[j] != 0) {
              problem("file " + f.n + ": byte past EOF not zero in last block");
              break;
            }
          }
        }
      }
      return out;
    }

    /** Walks the tree from the root: path -> inode. */
    Map<String, Ino> walk() {
      Map<String, Ino> out = new TreeMap<>();
      Ino root = inode(1);
      if (root == null || root.type != 2 || root.parent != 1) {
        problem("root inode bad");
        return out;
      }
      out.put("/", root);
      walk("/", root, out);
      long used = 0;
      for (long n = 1; n < inodeCount; n++) {
        if (n / ipb() < initBlocks && inode(n) != null) {
          used++;
        }
      }
      if (used != sb.getLong(112)) {
        problem("inodesUsed " + sb.getLong(112) + " but " + used + " records in use");
      }
      if (used != out.size()) {
        problem(used + " inodes in use but " + out.size() + " reachable");
      }
      for (long b : referenced) {
        if (!allocated(b)) {
          problem("referenced block " + b + " free in bitmap");
        }
      }
      return out;
    }

    private void walk(String path, Ino dir, Map<String, Ino> out) {
      for (Entry e : dirEntries(dir)) {
        Ino c = inode(e.inode);
        String cp = (path.equals("/") ? "/" : path + "/") + e.name;
        if (c == null || c.type != e.type || c.parent != dir.n) {
          problem("entry " + cp + " names a bad inode");
          continue;
        }
        out.put(cp, c);
        if (c.type == 2) {
          walk(cp, c, out);
        }
      }
    }

    // ------------------------------------------------------------------------------- Tags (17)

    TreeMap<String, String> tags(byte[] field) {
      TreeMap<String, String> m = new TreeMap<>();
      int o = 0;
      while (o < field.length) {
        int kl = field[o] & 0xff;
        if (kl == 0) {
          break;
        }
        int vl = field[o + 1] & 0xff;
        if (kl > 64 || o + 2 + kl + vl > field.length) {
          problem("Tags entry damaged at " + o);
          break;
        }
        String key = new String(field, o + 2, kl, StandardCharsets.UTF_8);
        if (!m.isEmpty() && utf16Compare(m.lastKey(), key) >= 0) {
          problem("Tags key '" + key + "' not after '" + m.lastKey() + "'");
        }
        m.put(key, new String(field, o + 2 + kl, vl, StandardCharsets.UTF_8));
        o += 2 + kl + vl;
      }
      zeros(field, o, field.length, "Tags after the list");
      return m;
    }

    /** Section 17's key order, from its words: UTF-16 code units compared as unsigned numbers, a prefix first. */
    static int utf16Compare(String a, String b) {
      char[] x = a.toCharArray();
      char[] y = b.toCharArray();
      for (int i = 0; i < Math.min(x.length, y.length); i++) {
        if (x[i] != y[i]) {
          return Integer.compare(x[i], y[i]);
        }
      }
      return Integer.compare(x.length, y.length);
    }

    // ------------------------------------------------------------------------------- migration checkpoint (16)

    record Mchk(int phase, long migrationId, long sequence, long targetModules, long originalManifest,
        long targetManifest, int originalInodeSize, int targetInodeSize, long totalInodes, long inodesMigrated,
        long oldTableStart, long oldTableBlocks, long newTableStart, long newTableBlocks, long startMillis,
        long lastCheckpointMillis, int checkpointInterval, List<int[]> origLayout, List<int[]> targetLayout) {}

    Mchk checkpointRecord() {
      RegionRec r = region(MCHK, false);
      Mchk best = null;
      for (int i = 0; i < 2; i++) {
        byte[] b = block(r.start + i);
        boolean zero = true;
        for (byte x : b) {
          zero &= x == 0;
        }
        if (zero || !trailerOk(b) || tagOf(b) != MCHK) {
          continue;
        }
        ByteBuffer x = le(b);
        if (x.getLong(448) != XXH3.hashBytesToLong(b, 0, 448) || x.getInt(0) != 1) {
          problem("MCHK block " + i + ": payload checksum/version");
          continue;
        }
        long seq = x.getLong(16);
        if (seq % 2 != i || (genOf(b) & 0xffffffffL) != (seq & 0xffffffffL)) {
          problem("MCHK block " + i + ": sequence " + seq + " in wrong slot / generation");
        }
        Mchk m = new Mchk(x.getInt(4), x.getLong(8), seq, x.getLong(24), x.getLong(32), x.getLong(40), x.getInt(48),
            x.getInt(52), x.getLong(56), x.getLong(64), x.getLong(72), x.getLong(80), x.getLong(88), x.getLong(96),
            x.getLong(104), x.getLong(112), x.getInt(120), parseLayout(x, 128, x.getInt(48)),
            parseLayout(x, 288, x.getInt(52)));
        if (m.phase < 1 || m.phase > 5 || m.inodesMigrated > m.totalInodes) {
          problem("MCHK invalid record " + m);
          continue;
        }
        // Section 16: bytes 124..127 and 456 up to the trailer are zero, and so is each layout's slot past its
        // descriptor (the reserved words inside a descriptor too, section 10).
        zeros(b, 124, 128, "MCHK block " + i + " zero 124");
        zeros(b, 456, bs - 16, "MCHK block " + i + " after the payload checksum");
        for (int at : new int[] {128, 288}) {
          int fc = u16(x, at + 2);
          zeros(b, at + 4, at + 8, "MCHK block " + i + " layout at " + at + " zero word");
          for (int k = 0; k < fc; k++) {
            zeros(b, at + 14 + 8 * k, at + 16 + 8 * k, "MCHK block " + i + " layout at " + at + " field zero");
          }
          zeros(b, at + 8 + 8 * fc, at + 160, "MCHK block " + i + " layout at " + at + " padding");
        }
        if (best == null || m.sequence > best.sequence) {
          best = m;
        }
      }
      if (best != null && (incompat() & 1) != 0) {
        checkpointFits(best);
      }
      return best;
    }

    /**
     * Section 16: what a record describing the pending migration must satisfy besides its own validity, from the
     * text alone. Only for a record whose new table is the INOM region (before the swap).
     */
    void checkpointFits(Mchk m) {
      RegionRec inom = region(INOM, false);
      if (inom == null || m.newTableStart != inom.start) {
        return;
      }
      String rec = "MCHK record " + m.sequence + ": ";
      if (m.originalInodeSize > bs - 16 || m.targetInodeSize > bs - 16) {
        problem(rec + "inode sizes " + m.originalInodeSize + "/" + m.targetInodeSize + " do not fit the payload");
      }
      for (int[] f : m.origLayout) {
        int[] g = null;
        for (int[] t : m.targetLayout) {
          if (t[0] == f[0]) {
            g = t;
          }
        }
        if (g == null || g[2] != f[2]) {
          problem(rec + "field of module " + f[0] + " missing from the target layout or resized");
        }
      }
      // the layout in force before the swap is the original one: the superblock's
      if (m.originalInodeSize != inodeSize || m.origLayout.size() != layout.size()) {
        problem(rec + "original layout is not the superblock's");
      } else {
        for (int k = 0; k < layout.size(); k++) {
          if (!Arrays.equals(layout.get(k), m.origLayout.get(k))) {
            problem(rec + "original layout field " + k + " is not the superblock's");
          }
        }
      }
      if (m.originalManifest != sb.getLong(88)) {
        problem(rec + "original manifest is not the superblock's");
      }
      if (m.targetModules == 0 || (m.targetModules & m.originalManifest) != 0
          || (m.originalManifest | m.targetModules) != m.targetManifest) {
        problem(rec + "manifests do not add up");
      }
      for (int[] t : m.targetLayout) {
        if (t[0] >= 64 || (m.targetManifest & 1L << t[0]) == 0) {
          problem(rec + "target layout has a field for module " + t[0] + " outside the target manifest");
        }
      }
      long ipbNew = (bs - 16) / m.targetInodeSize;
      if (m.newTableBlocks != inom.blocks || m.newTableBlocks * ipbNew < inodeCount) {
        problem(rec + "new table of " + m.newTableBlocks + " blocks is not INOM's " + inom.blocks + " or too small");
      }
      if (m.totalInodes > inodeCount) {
        problem(rec + "totalInodes " + m.totalInodes + " above inodeCount " + inodeCount);
      }
    }
  }

  // =============================================================================================== helpers

  static byte[] pattern(int n, int seed) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (i * 31 + seed * 7 + (i >> 8));
    }
    return b;
  }

  /** Compares the reader's whole tree with the engine's view; returns the reader's tree. */
  static Map<String, DocReader.Ino> compareTree(DocReader r, VirtualDisk disk, SoftAssertions soft)
      throws IOException {
    Map<String, DocReader.Ino> tree = r.walk();
    // every path the engine lists is in the reader's tree and vice versa
    Set<String> enginePaths = new HashSet<>();
    List<String> todo = new ArrayList<>(List.of("/"));
    enginePaths.add("/");
    while (!todo.isEmpty()) {
      String d = todo.remove(todo.size() - 1);
      List<DirEntry> es = disk.list(d);
      DocReader.Ino di = tree.get(d);
      soft.assertThat(di).as("reader has dir %s", d).isNotNull();
      if (di != null) {
        Map<String, Long> mine = new TreeMap<>();
        for (DocReader.Entry e : r.dirEntries(di)) {
          mine.put(e.name(), e.inode());
        }
        Map<String, Long> theirs = new TreeMap<>();
        for (DirEntry e : es) {
          theirs.put(e.name(), e.inode());
        }
        soft.assertThat(mine).as("entries of %s", d).isEqualTo(theirs);
      }
      for (DirEntry e : es) {
        enginePaths.add(e.path());
        if (e.type() == FileType.DIRECTORY) {
          todo.add(e.path());
        }
      }
    }
    soft.assertThat(tree.keySet()).as("paths").containsExactlyInAnyOrderElementsOf(enginePaths);
    for (Map.Entry<String, DocReader.Ino> e : tree.entrySet()) {
      String p = e.getKey();
      DocReader.Ino ino = e.getValue();
      FileStat st = disk.stat(p);
      soft.assertThat(ino.n()).as("inode of %s", p).isEqualTo(st.inode());
      soft.assertThat(ino.type()).as("type of %s", p).isEqualTo(st.type() == FileType.DIRECTORY ? 2 : 1);
      if (ino.type() == 1) {
        soft.assertThat(ino.size()).as("size of %s", p).isEqualTo(st.size());
      } else {
        // stat reports 0 for directories (an API choice); on disk the size is blocks x payload (section 9/13)
        long mapped = 0;
        for (long[] x : ino.extents()) {
          mapped += x[2];
        }
        soft.assertThat(ino.size()).as("dir size of %s", p).isEqualTo(mapped * (r.bs - 16));
        soft.assertThat(ino.perms()).as("perms of dir %s", p).isEqualTo(0755);
      }
      if (ino.type() == 1) {
        soft.assertThat(ino.perms()).as("perms of file %s", p).isEqualTo(0644);
      }
      soft.assertThat(ino.links()).as("links of %s", p).isEqualTo(st.linkCount());
      soft.assertThat(ino.created()).as("created of %s", p).isEqualTo(st.created());
      soft.assertThat(ino.modified()).as("modified of %s", p).isEqualTo(st.modified());
      soft.assertThat(ino.extentCount()).as("extentCount of %s", p).isEqualTo(st.extentCount());
      if (ino.type() == 1) {
        soft.assertThat(r.fileData(ino)).as("content of %s", p).isEqualTo(disk.readFile(p));
      }
    }
    return tree;
  }

  /** Superblock fields against VolumeInfo. */
  static void compareInfo(DocReader r, VirtualDisk disk, SoftAssertions soft) throws IOException {
    var info = disk.info();
    ByteBuffer sb = r.sb;
    soft.assertThat(r.bs).as("blockSize").isEqualTo(info.blockSize());
    soft.assertThat(r.totalBlocks()).as("totalBlocks").isEqualTo(info.totalBlocks());
    soft.assertThat(sb.getLong(120)).as("freeBlocks").isEqualTo(info.freeBlocks());
    soft.assertThat(r.inodeSize).as("inodeSize").isEqualTo(info.inodeSize());
    soft.assertThat(r.inodeCount).as("inodeCount").isEqualTo(info.inodeCount());
    soft.assertThat(sb.getLong(112)).as("inodesUsed").isEqualTo(info.inodesUsed());
    soft.assertThat(new java.util.UUID(sb.getLong(24), sb.getLong(32))).as("uuid").isEqualTo(info.uuid());
    soft.assertThat(r.label()).as("label").isEqualTo(info.label());
    soft.assertThat(sb.getLong(40)).as("created").isEqualTo(info.created());
    soft.assertThat(sb.getLong(48)).as("modified").isEqualTo(info.modified());
    soft.assertThat(r.sequence).as("sequence").isEqualTo(info.sequence());
    soft.assertThat(info.formatMajor()).isEqualTo(r.u16(sb, 4));
    soft.assertThat(info.formatMinor()).isEqualTo(r.u16(sb, 6));
    long manifest = sb.getLong(88);
    long mods = 0;
    for (Module m : info.modules()) {
      mods |= 1L << m.id();
    }
    soft.assertThat(manifest).as("manifest").isEqualTo(mods);
    List<String> mine = new ArrayList<>();
    for (DocReader.RegionRec x : r.regionList) {
      mine.add(DocReader.tagName(x.tag()) + "/" + x.flags() + "/" + x.start() + "/" + x.blocks());
    }
    List<String> theirs = new ArrayList<>();
    for (var e : info.regions()) {
      theirs.add(DocReader.tagName(e.tag()) + "/" + e.flags() + "/" + e.start() + "/" + e.blocks());
    }
    soft.assertThat(mine).as("region directory").containsExactlyInAnyOrderElementsOf(theirs);
    int end = 304;
    for (int[] f : r.layout) {
      end = Math.max(end, f[1] + f[2]);
    }
    soft.assertThat(r.inodeSize - end).as("padding bytes").isEqualTo(info.paddingBytes());
  }

  /** Section 4: the create-time placement and sizes, from the formulas. */
  static void checkCreateLayout(DocReader r, long inodeCountOpt, SoftAssertions soft) {
    int bs = r.bs;
    long t = r.totalBlocks();
    long rd = (64 + (bs - 24) / 24 - 1) / ((bs - 24) / 24);
    soft.assertThat(r.sb.getLong(128)).as("regionDirStart").isEqualTo(2);
    soft.assertThat(r.u32(r.sb, 136)).as("regionDirBlocks").isEqualTo(rd);
    long bmap = (t + (bs - 16) * 8L - 1) / ((bs - 16) * 8L);
    long wal = Math.max(64, Math.min(8192, t / 32));
    long inodes = inodeCountOpt > 0 ? inodeCountOpt : Math.max(64, Math.min((1L << 32) - 1, t * bs / 16384));
    long ipb = (bs - 16) / r.inodeSize;
    long next = 2 + rd;
    soft.assertThat(r.region(DocReader.BMAP, false)).as("BMAP").isEqualTo(new DocReader.RegionRec(DocReader.BMAP, 0,
        next, bmap));
    next += bmap;
    soft.assertThat(r.region(DocReader.MWAL, false)).as("MWAL").isEqualTo(new DocReader.RegionRec(DocReader.MWAL, 0,
        next, wal));
    soft.assertThat(r.walStart()).isEqualTo(next);
    soft.assertThat(r.walBlocks()).isEqualTo(wal);
    next += wal;
    soft.assertThat(r.region(DocReader.MCHK, false)).as("MCHK").isEqualTo(new DocReader.RegionRec(DocReader.MCHK, 0,
        next, 2));
    next += 2;
    soft.assertThat(r.inodeCount).as("inodeCount").isEqualTo(inodes);
    soft.assertThat(r.region(DocReader.INOD, false)).as("INOD").isEqualTo(new DocReader.RegionRec(DocReader.INOD, 0,
        next, (inodes + ipb - 1) / ipb));
  }

  /** Sections 4/5: after a checkpoint both copies are valid and identical but for sequence and trailer. */
  static void checkBothCopies(DocReader r, byte[] image, SoftAssertions soft) {
    int bs = r.bs;
    byte[] a = Arrays.copyOfRange(image, 0, bs);
    byte[] b = Arrays.copyOfRange(image, bs, 2 * bs);
    soft.assertThat(DocReader.trailerOk(a) && DocReader.trailerOk(b)).as("both superblock copies valid").isTrue();
    long sa = DocReader.le(a).getLong(56);
    long sbq = DocReader.le(b).getLong(56);
    soft.assertThat(sa % 2).isEqualTo(0);
    soft.assertThat(sbq % 2).isEqualTo(1);
    soft.assertThat(Math.abs(sa - sbq)).as("copies one write apart").isEqualTo(1);
    byte[] a2 = Arrays.copyOf(a, bs - 16);
    byte[] b2 = Arrays.copyOf(b, bs - 16);
    DocReader.le(a2).putLong(56, 0);
    DocReader.le(b2).putLong(56, 0);
    soft.assertThat(a2).as("copies identical but for sequence").isEqualTo(b2);
  }

  // =============================================================================================== tests

  /** Plain volume at 512-byte blocks: holes, partial blocks, indirect extents, multi-block dirs, padding claims. */
  @Test
  void plainVolume512_withHolesIndirectExtentsAndPaddingModules() throws IOException {
    Path host = tmp.resolve("a.vde");
    Map<String, byte[]> engineModuleFields = new TreeMap<>();
    try (VirtualDisk d = VirtualDisk.create(host, CreateOptions.ofSize(4L << 20).blockSize(512).label("reader-a"))) {
      d.mkdir("/docs");
      d.mkdir("/docs/deep");
      d.mkdir("/empty");
      d.writeFile("/docs/small.txt", "hello".getBytes(StandardCharsets.UTF_8));
      d.writeFile("/docs/partial.bin", pattern(3 * 496 + 100, 1));
      d.writeFile("/docs/deep/exact.bin", pattern(4 * 496, 2));
      d.writeFile("/zero-length", new byte[0]);
      // holes: write at offsets, and extend by truncate
      d.writeFile("/holes.bin", new byte[0]);
      d.write("/holes.bin", 0, pattern(10, 3), 0, 10);
      d.write("/holes.bin", 5 * 496 + 7, pattern(700, 4), 0, 700);
      d.truncate("/holes.bin", 20 * 496 + 3);
      d.writeFile("/trunc.bin", pattern(5000, 5));
      d.truncate("/trunc.bin", 1234);
      // sparse fragmentation: one block every other logical block, 60 extents (3 XTNT blocks at 512)
      d.writeFile("/frag-sparse", new byte[0]);
      for (int k = 0; k < 60; k++) {
        d.write("/frag-sparse", (long) k * 2 * 496 + k, pattern(3, k), 0, 3);
      }
      // contiguous-logical fragmentation: interleaved appends of whole blocks to two files
      d.writeFile("/frag-a", new byte[0]);
      d.writeFile("/frag-b", new byte[0]);
      for (int k = 0; k < 30; k++) {
        d.append("/frag-a", pattern(496, 100 + k));
        d.append("/frag-b", pattern(496, 200 + k));
      }
      // change in the middle of an indirect list
      d.write("/frag-sparse", 41L * 496, pattern(496 * 3, 9), 0, 496 * 3);
      // a chain change that removes extents from the first XTNT block (section 12, LOOSE chains)
      d.writeFile("/loose", new byte[0]);
      for (int k = 0; k < 60; k++) {
        d.write("/loose", (long) k * 2 * 496, pattern(5, k), 0, 5);
      }
      d.write("/loose", 40L * 496, pattern(496 * 5, 11), 0, 496 * 5);
      // a directory of several DIRE blocks, with some entries removed
      d.mkdir("/many");
      for (int i = 0; i < 60; i++) {
        d.writeFile("/many/a-rather-long-file-name-number-" + i, pattern(i, i));
      }
      for (int i = 0; i < 60; i += 7) {
        d.delete("/many/a-rather-long-file-name-number-" + i);
      }
      // padding-claimed modules
      InPlaceAddition.add(d, List.of(Module.RAID, Module.TRANSIT));
      d.writeModuleField("/docs/small.txt", Module.RAID, new byte[] {1, 2, 3, 4});
      d.writeModuleField("/docs/small.txt", Module.TRANSIT, new byte[] {9});
      d.writeModuleField("/frag-a", Module.TRANSIT, new byte[] {(byte) 0xee});
    }
    byte[] image = Files.readAllBytes(host);
    DocReader r = new DocReader(image, true);
    SoftAssertions soft = new SoftAssertions();
    soft.assertThat(r.bs).isEqualTo(512);
    soft.assertThat(r.label()).isEqualTo("reader-a");
    soft.assertThat(r.walTransactionsApplied).as("closed volume: WAL checkpointed").isZero();
    try (VirtualDisk d = VirtualDisk.open(host)) {
      Map<String, DocReader.Ino> tree = compareTree(r, d, soft);
      compareInfo(r, d, soft);
      checkCreateLayout(r, 0, soft);
      checkBothCopies(r, image, soft);
      System.out.println("[reader] plain: incompat=" + r.incompat() + " loose extents=" + tree.get("/loose").extentCount()
          + " frag-sparse extents="
          + tree.get("/frag-sparse").extentCount() + " frag-a extents=" + tree.get("/frag-a").extentCount());
      soft.assertThat(tree.get("/frag-sparse").extentCount()).isGreaterThan(8 + 20);
      soft.assertThat(tree.get("/frag-a").extentCount()).isGreaterThan(8);
      soft.assertThat(tree.get("/holes.bin").extents()).hasSizeLessThan(21);
      soft.assertThat(tree.get("/many").size()).isGreaterThan(496);
      for (Map.Entry<String, DocReader.Ino> e : tree.entrySet()) {
        for (Module m : List.of(Module.RAID, Module.TRANSIT)) {
          byte[] mine = r.moduleField(e.getValue(), m.id());
          soft.assertThat(mine).as("%s field of %s", m, e.getKey()).isEqualTo(d.readModuleField(e.getKey(), m));
        }
      }
      soft.assertThat(r.moduleField(tree.get("/docs/small.txt"), Module.RAID.id())).containsExactly(1, 2, 3, 4);
      soft.assertThat(r.sb.getLong(88)).as("manifest").isEqualTo((1L << 5) | (1L << 16));
      soft.assertThat(r.field(Module.RAID.id())).containsExactly(5, 304, 4);
      soft.assertThat(r.field(Module.TRANSIT.id())).containsExactly(16, 308, 1);
    }
    soft.assertThat(r.problems).as("doc-rule violations seen by the reader").isEmpty();
    // section 5: with slot 0 destroyed the block size is found from slot 1 at offset = its own blockSize
    byte[] damaged = image.clone();
    Arrays.fill(damaged, 0, 512, (byte) 0x5a);
    DocReader r2 = new DocReader(damaged, true);
    soft.assertThat(r2.bs).isEqualTo(512);
    soft.assertThat(r2.sequence % 2).isEqualTo(1);
    soft.assertThat(r2.walk().keySet()).isEqualTo(r.walk().keySet());
    soft.assertAll();
  }

  /** Tags module at create, 4096-byte blocks: the Tags field per section 17. */
  @Test
  void tagsVolume4096_tagFieldsDecodeFromTheDocAlone() throws IOException {
    Path host = tmp.resolve("b.vde");
    try (VirtualDisk d = VirtualDisk.create(host, CreateOptions.ofSize(8L << 20).module(Module.TAGS))) {
      d.mkdir("/t");
      d.writeFile("/t/one", pattern(10000, 1));
      d.writeFile("/t/two", pattern(4080, 2));
      d.writeFile("/t/none", pattern(1, 3));
      Tags.set(d, "/t/one", "color", "blue");
      Tags.set(d, "/t/one", "Zeta", "");
      Tags.set(d, "/t/one", "ümlaut-kéy", "välue");
      Tags.set(d, "/t/two", "k", "v".repeat(100));
      Tags.set(d, "/t", "dir", "yes");
      // Section 17: UTF-16 order, not UTF-8 byte order (U+FF21 is EF BC A1 in UTF-8, U+1F600 is F0 9F 98 80).
      Tags.set(d, "/t/none", "\uFF21", "2");
      Tags.set(d, "/t/none", "\uD83D\uDE00", "1");
    }
    byte[] image = Files.readAllBytes(host);
    DocReader r = new DocReader(image, true);
    SoftAssertions soft = new SoftAssertions();
    soft.assertThat(r.inodeSize).isEqualTo(448);
    checkCreateLayout(r, 0, soft);
    checkBothCopies(r, image, soft);
    DocReader.RegionRec inod = r.region(DocReader.INOD, false);
    long t = r.totalBlocks();
    soft.assertThat(r.region(0x58444954, true)).as("TIDX placed after INOD, large size (section 11)")
        .isEqualTo(new DocReader.RegionRec(0x58444954, 1 | 3 << 8, inod.start() + inod.blocks(),
            Math.max(1, Math.min(Math.max(256, t / 256), t / 16))));
    soft.assertThat(r.field(Module.TAGS.id())).containsExactly(3, 304, 136);
    try (VirtualDisk d = VirtualDisk.open(host)) {
      Map<String, DocReader.Ino> tree = compareTree(r, d, soft);
      compareInfo(r, d, soft);
      for (Map.Entry<String, DocReader.Ino> e : tree.entrySet()) {
        byte[] f = r.moduleField(e.getValue(), Module.TAGS.id());
        soft.assertThat(f).as("raw Tags of %s", e.getKey()).isEqualTo(d.readModuleField(e.getKey(), Module.TAGS));
        soft.assertThat(r.tags(f)).as("Tags of %s", e.getKey()).isEqualTo(Tags.list(d, e.getKey()));
      }
      soft.assertThat(r.tags(r.moduleField(tree.get("/t/one"), 3))).containsEntry("ümlaut-kéy", "välue");
      // section 17: entries sorted by String.compareTo of the keys
      byte[] f = r.moduleField(tree.get("/t/one"), 3);
      List<String> keys = new ArrayList<>();
      for (int o = 0; o < f.length && f[o] != 0; o += 2 + (f[o] & 0xff) + (f[o + 1] & 0xff)) {
        keys.add(new String(f, o + 2, f[o] & 0xff, StandardCharsets.UTF_8));
      }
      soft.assertThat(keys).containsExactly("Zeta", "color", "ümlaut-kéy");
      byte[] g = r.moduleField(tree.get("/t/none"), 3);
      soft.assertThat(Arrays.copyOfRange(g, 0, 7)).as("surrogate-pair key first")
          .containsExactly(4, 1, 0xf0, 0x9f, 0x98, 0x80, '1');
      soft.assertThat(Arrays.copyOfRange(g, 7, 13)).containsExactly(3, 1, 0xef, 0xbc, 0xa1, '2');
    }
    // TIDX module region recorded with flags = 1 | id << 8
    DocReader.RegionRec tidx = r.region(0x58444954, true);
    soft.assertThat(tidx).isNotNull();
    if (tidx != null) {
      soft.assertThat(tidx.flags()).isEqualTo(1 | 3 << 8);
    }
    soft.assertThat(r.problems).isEmpty();
    soft.assertAll();
  }

  /** A cancelled (pending) inode migration: INCOMPAT bit, INOM region and the MCHK record of section 16. */
  @Test
  void pendingMigration_checkpointRecordAndTreeReadable() throws IOException {
    Path host = tmp.resolve("c.vde");
    try (VirtualDisk d = VirtualDisk.create(host, CreateOptions.ofSize(4L << 20).blockSize(1024).inodeCount(256))) {
      for (int i = 0; i < 40; i++) {
        d.writeFile("/f" + i, pattern(300 + i * 37, i));
      }
      d.mkdir("/sub");
      d.writeFile("/sub/x", pattern(5000, 7));
      MigrationControl ctl = new MigrationControl(0, false);
      var res = InodeMigration.start(d, List.of(Module.TAGS),
          MigrationOptions.defaults().checkpointEvery(4).control(ctl).listener(p -> {
            if (p.migrated() >= 12) {
              ctl.cancel();
            }
          }));
      assertThat(res.cancelled()).as("migration cancelled, still pending").isTrue();
    }
    byte[] image = Files.readAllBytes(host);
    DocReader r = new DocReader(image, true);
    SoftAssertions soft = new SoftAssertions();
    soft.assertThat(r.incompat() & 1).as("INCOMPAT_MIGRATION_PENDING").isEqualTo(1);
    DocReader.RegionRec inom = r.region(DocReader.INOM, false);
    soft.assertThat(inom).as("INOM region").isNotNull();
    DocReader.Mchk m = r.checkpointRecord();
    soft.assertThat(m).as("MCHK record").isNotNull();
    try (VirtualDisk d = VirtualDisk.open(host)) {
      compareTree(r, d, soft);
      compareInfo(r, d, soft);
      checkCreateLayout(r, 256, soft);
      var c = InodeMigration.status(d);
      soft.assertThat(c).isNotNull();
      if (m != null && c != null && inom != null) {
        soft.assertThat(m.newTableStart()).isEqualTo(inom.start());
        soft.assertThat(m.newTableBlocks()).isEqualTo(inom.blocks());
        soft.assertThat(m.phase()).isEqualTo(c.phase().ordinal() + 1);
        soft.assertThat(m.migrationId()).isEqualTo(c.migrationId());
        soft.assertThat(m.sequence()).isEqualTo(c.sequence());
        soft.assertThat(m.targetModules()).isEqualTo(c.targetModules()).isEqualTo(1L << 3);
        soft.assertThat(m.originalManifest()).isEqualTo(c.originalManifest());
        soft.assertThat(m.targetManifest()).isEqualTo(c.targetManifest());
        soft.assertThat(m.originalInodeSize()).isEqualTo(320);
        soft.assertThat(m.targetInodeSize()).isEqualTo(448);
        soft.assertThat(m.totalInodes()).isEqualTo(c.totalInodes());
        soft.assertThat(m.inodesMigrated()).isEqualTo(c.inodesMigrated()).isGreaterThan(0);
        soft.assertThat(m.oldTableStart()).isEqualTo(c.oldTableStart()).isEqualTo(r.inodTableStart);
        soft.assertThat(m.oldTableBlocks()).isEqualTo(c.oldTableBlocks());
        soft.assertThat(m.startMillis()).isEqualTo(c.startMillis());
        soft.assertThat(m.lastCheckpointMillis()).isEqualTo(c.lastCheckpointMillis());
        soft.assertThat(m.checkpointInterval()).isEqualTo(c.checkpointInterval()).isEqualTo(4);
        soft.assertThat(m.targetLayout()).hasSize(1);
        soft.assertThat(m.targetLayout().get(0)).containsExactly(3, 304, 136);
        soft.assertThat(m.origLayout()).isEmpty();
        // The inodes below the watermark are in the new table, in the target layout.
        int ipbNew = (r.bs - 16) / 448;
        long initNew = (m.inodesMigrated() + ipbNew - 1) / ipbNew;
        for (long n = 1; n < m.inodesMigrated(); n++) {
          DocReader.Ino old = r.inode(n);
          DocReader.Ino neu = r.inodeFrom(inom.start(), 448, initNew, n);
          soft.assertThat(neu == null).as("new-table inode %d free iff old free", n).isEqualTo(old == null);
          if (old != null && neu != null) {
            soft.assertThat(Arrays.copyOf(neu.rec(), 304)).as("core of inode %d in new table", n)
                .isEqualTo(Arrays.copyOf(old.rec(), 304));
          }
        }
      }
    }
    soft.assertThat(r.problems).isEmpty();
    // finish the migration, tag a file, and read again: Tags placed by a migration, INOO freed, bit cleared
    try (VirtualDisk d = VirtualDisk.open(host)) {
      InodeMigration.resume(d, MigrationOptions.defaults());
      Tags.set(d, "/sub/x", "after", "migration");
    }
    DocReader r3 = new DocReader(Files.readAllBytes(host), true);
    soft.assertThat(r3.incompat() & 1).isZero();
    soft.assertThat(r3.region(DocReader.INOM, false)).isNull();
    soft.assertThat(r3.region(DocReader.INOO, false)).isNull();
    soft.assertThat(r3.inodeSize).isEqualTo(448);
    soft.assertThat(r3.checkpointRecord()).as("MCHK zeroed after completion").isNull();
    try (VirtualDisk d = VirtualDisk.open(host)) {
      Map<String, DocReader.Ino> tree = compareTree(r3, d, soft);
      compareInfo(r3, d, soft);
      for (Map.Entry<String, DocReader.Ino> e : tree.entrySet()) {
        soft.assertThat(r3.tags(r3.moduleField(e.getValue(), 3))).as("Tags of %s", e.getKey())
            .isEqualTo(Tags.list(d, e.getKey()));
      }
      soft.assertThat(r3.tags(r3.moduleField(tree.get("/sub/x"), 3))).containsEntry("after", "migration");
    }
    soft.assertThat(r3.problems).isEmpty();
    soft.assertAll();
  }

  /** Section 15: copy of a live volume whose WAL holds committed transactions; the reader replays them. */
  @Test
  void liveCopy_walReplayGivesTheEnginesView() throws Exception {
    Path host = tmp.resolve("d.vde");
    Path copy = tmp.resolve("d-copy.vde");
    try (VirtualDisk d = VirtualDisk.create(host, CreateOptions.ofSize(4L << 20).blockSize(512))) {
      d.writeFile("/before", pattern(2000, 1));
      d.checkpoint();
      InPlaceAddition.add(d, List.of(Module.RAID));
      d.writeModuleField("/before", Module.RAID, new byte[] {4, 3, 2, 1});
      d.mkdir("/w");
      d.writeFile("/w/new", pattern(1500, 2));
      d.write("/before", 100, pattern(50, 3), 0, 50);
      d.writeFile("/w/big", pattern(40 * 496 + 11, 4)); // > 16 blocks: data written in place, data checks
      d.truncate("/w/new", 600);
      Process p = new ProcessBuilder("cp", "--sparse=always", host.toString(), copy.toString()).start();
      assertThat(p.waitFor()).isZero();
      byte[] image = Files.readAllBytes(copy);
      DocReader r = new DocReader(image, true);
      SoftAssertions soft = new SoftAssertions();
      soft.assertThat(r.walTransactionsApplied).as("WAL transactions replayed").isGreaterThan(0);
      System.out.println("[reader] live: txs=" + r.walTransactionsApplied + " images=" + r.walImageTags
          + " dataChecks=" + r.walDataChecks);
      soft.assertThat(r.walImageTags).containsKeys("SUPB(ref 0)", "DATA", "INOD", "DIRE");
      soft.assertThat(r.walDataChecks).isGreaterThan(0);
      Map<String, DocReader.Ino> tree = compareTree(r, d, soft);
      compareInfo(r, d, soft);
      soft.assertThat(r.moduleField(tree.get("/before"), Module.RAID.id())).containsExactly(4, 3, 2, 1);
      for (Map.Entry<String, DocReader.Ino> e : tree.entrySet()) {
        soft.assertThat(r.moduleField(e.getValue(), Module.RAID.id())).as("RAID of %s", e.getKey())
            .isEqualTo(d.readModuleField(e.getKey(), Module.RAID));
      }
      soft.assertThat(r.problems).isEmpty();
      // without replay the reader must not see /w
      DocReader stale = new DocReader(image, false);
      soft.assertThat(stale.walk()).doesNotContainKey("/w");
      soft.assertAll();
    }
  }

  /**
   * Section 15 byte by byte on a WAL that holds what the text describes: a transaction of several descriptors
   * (a batch creating many inodes, one inode-table block each at 512 bytes), data checks of two owners in one
   * transaction (a batch writing two files in place), and journaled data. The reader replays it from the text
   * alone, checks the rules the text gives for what this engine writes (generations, zero tails, images before
   * data checks, checkGeneration, commit flags) and must see the engine's tree.
   */
  @Test
  void pendingWal_descriptorsDataChecksAndCommitBlocksFollowSection15() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("wal layout");
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(4L << 20).blockSize(512).walBlocks(512))) {
      d.writeFile("/base", pattern(3000, 1));
      d.checkpoint();
      d.batch(x -> {
        for (int i = 0; i < 40; i++) {
          x.mkdir("/d" + i);
        }
      });
      d.batch(x -> {
        x.writeFile("/big1", pattern(40 * 496 + 5, 2));
        x.writeFile("/big2", pattern(30 * 496, 3));
      });
      d.writeFile("/small", pattern(700, 4));
      d.write("/base", 10, pattern(20, 5), 0, 20);
      byte[] image = dev.durableSnapshot();
      DocReader r = new DocReader(image, true);
      SoftAssertions soft = new SoftAssertions();
      System.out.println("[reader] wal: txs=" + r.walTransactionsApplied + " descriptors=" + r.walDescriptors
          + " most in one tx=" + r.walMostDescriptors + " check owners=" + r.walMostCheckOwners + " images="
          + r.walImageTags + " dataChecks=" + r.walDataChecks);
      soft.assertThat(r.walTransactionsApplied).as("transactions replayed").isGreaterThanOrEqualTo(4);
      soft.assertThat(r.walMostDescriptors).as("descriptors of the largest transaction").isGreaterThanOrEqualTo(2);
      soft.assertThat(r.walMostCheckOwners).as("data-check owners in one transaction").isGreaterThanOrEqualTo(2);
      soft.assertThat(r.walImageTags).containsKeys("SUPB(ref 0)", "DATA", "INOD", "DIRE", "BMAP");
      compareTree(r, d, soft);
      compareInfo(r, d, soft);
      soft.assertThat(r.problems).as("doc-rule violations seen by the reader").isEmpty();
      soft.assertAll();
    }
  }
}
