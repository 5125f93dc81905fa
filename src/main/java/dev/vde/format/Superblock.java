package dev.vde.format;

import dev.vde.VdeCorruptedException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * The superblock: what a reader needs to find everything else. Two copies live in blocks 0 and 1; a write
 * goes to slot {@code sequence % 2}, so the previous copy survives a torn write. Open takes the valid copy with
 * the higher sequence. Byte layout (little-endian), also in docs/FORMAT.md:
 *
 * <pre>
 *   0 magic "VDE1"        4 u16 formatMajor    6 u16 formatMinor    8 u32 blockSize   12 u32 inodeSize
 *  16 u64 totalBlocks    24 uuid (16 bytes, most significant half first)
 *  40 u64 createdMillis  48 u64 modifiedMillis 56 u64 sequence
 *  64 u64 compat         72 u64 roCompat       80 u64 incompat
 *  88 u64 moduleManifest 96 u64 moduleConfig  104 u64 inodeCount   112 u64 inodesUsed  120 u64 freeBlocks
 * 128 u64 regionDirStart 136 u32 regionDirBlocks 140 u32 reserved (0)
 * 144 u64 walStart      152 u64 walBlocks     160 u64 checkpointTxId 168 u64 walSalt
 * 176 u64 inodeTableInitBlocks  184 label (64 bytes UTF-8, zero padded; bytes that are not UTF-8 are kept)
 * 248 inode layout descriptor (see InodeLayout), at most 8 + 19*8 bytes
 * </pre>
 */
public record Superblock(
    int formatMajor,
    int formatMinor,
    int blockSize,
    int inodeSize,
    long totalBlocks,
    UUID uuid,
    long createdMillis,
    long modifiedMillis,
    long sequence,
    long compat,
    long roCompat,
    long incompat,
    long moduleManifest,
    long moduleConfig,
    long inodeCount,
    long inodesUsed,
    long freeBlocks,
    long regionDirStart,
    int regionDirBlocks,
    long walStart,
    long walBlocks,
    long checkpointTxId,
    long walSalt,
    long inodeTableInitBlocks,
    String label,
    InodeLayout layout) {

  public static final int MAGIC = BlockType.tagOf("VDE1");
  public static final int FORMAT_MAJOR = 1;
  public static final int FORMAT_MINOR_START = 0;
  public static final int FORMAT_MINOR_CURRENT = FORMAT_MINOR_START;
  public static final int LABEL_BYTES = 64;
  public static final int LABEL_OFFSET = 184;
  /** Smallest WAL a valid volume has (FORMAT.md section 5). */
  public static final long MIN_WAL_BLOCKS = 8;
  public static final int LAYOUT_OFFSET = 248;
  public static final int MIN_BLOCK_SIZE = 512;
  public static final int MAX_BLOCK_SIZE = 65536;

  /** incompat: an inode migration is in progress; an engine that does not know migrations must not open. */
  public static final long INCOMPAT_MIGRATION_PENDING = 1L;
  /** incompat: this volume is the destination of a copy that has not finished. */
  public static final long INCOMPAT_INCOMPLETE_COPY = 1L << 1;
  /**
   * incompat: an indirect extent chain may have partly filled blocks before its last, as left by an in-place
   * chain update; a reader that expects every block but the last full would refuse such a chain as damaged.
   */
  public static final long INCOMPAT_LOOSE_EXTENT_CHAINS = 1L << 2;
  /** The incompat bits that record engine state rather than modules; a manifest change keeps them. */
  public static final long ENGINE_INCOMPAT =
      INCOMPAT_MIGRATION_PENDING | INCOMPAT_INCOMPLETE_COPY | INCOMPAT_LOOSE_EXTENT_CHAINS;

  /**
   * compat: the host file was written in full when the volume was created ({@code CreateOptions.preallocate}), so
   * writing a block never makes the host file system allocate. A hint about the host, not about the format: the
   * engine then writes small transactions' data in place instead of journaling it (an engine that ignores the bit
   * loses nothing), and a copy, whose destination is sparse, does not carry it.
   */
  public static final long COMPAT_HOST_PREALLOCATED = 1L;
  /** The compat bits that record engine state rather than modules; a manifest change keeps them. */
  public static final long ENGINE_COMPAT = COMPAT_HOST_PREALLOCATED;

  /** Feature bits this engine understands, per class. */
  public static final long KNOWN_COMPAT = moduleBits(Module.FeatureClass.COMPAT) | ENGINE_COMPAT;
  public static final long KNOWN_RO_COMPAT = moduleBits(Module.FeatureClass.RO_COMPAT);
  public static final long KNOWN_INCOMPAT = moduleBits(Module.FeatureClass.INCOMPAT) | ENGINE_INCOMPAT;

  private static long moduleBits(Module.FeatureClass fc) {
    long bits = 0;
    for (Module m : Module.values()) {
      if (m.featureClass() == fc) {
        bits |= m.featureBit();
      }
    }
    return bits;
  }

  public static boolean isValidBlockSize(int bs) {
    return bs >= MIN_BLOCK_SIZE && bs <= MAX_BLOCK_SIZE && Integer.bitCount(bs) == 1;
  }

  /** The feature masks implied by a manifest plus engine-state incompat bits. */
  public Superblock withManifest(long manifest, InodeLayout newLayout) {
    long c = compat & ENGINE_COMPAT;
    long ro = 0;
    long in = incompat & ~KNOWN_INCOMPAT | incompat & ENGINE_INCOMPAT;
    for (Module m : Module.fromManifest(manifest)) {
      switch (m.featureClass()) {
        case COMPAT -> c |= m.featureBit();
        case RO_COMPAT -> ro |= m.featureBit();
        case INCOMPAT -> in |= m.featureBit();
        default -> throw new IllegalStateException();
      }
    }
    return new Superblock(formatMajor, formatMinor, blockSize, newLayout.inodeSize(), totalBlocks, uuid,
        createdMillis, modifiedMillis, sequence, c | (compat & ~KNOWN_COMPAT), ro | (roCompat & ~KNOWN_RO_COMPAT),
        in, manifest, moduleConfig, inodeCount, inodesUsed, freeBlocks, regionDirStart, regionDirBlocks,
        walStart, walBlocks, checkpointTxId, walSalt, inodeTableInitBlocks, label, newLayout);
  }

  public Superblock withIncompat(long newIncompat) {
    return new Superblock(formatMajor, formatMinor, blockSize, inodeSize, totalBlocks, uuid, createdMillis,
        modifiedMillis, sequence, compat, roCompat, newIncompat, moduleManifest, moduleConfig, inodeCount,
        inodesUsed, freeBlocks, regionDirStart, regionDirBlocks, walStart, walBlocks, checkpointTxId, walSalt,
        inodeTableInitBlocks, label, layout);
  }

  public Superblock withCounts(long newInodesUsed, long newFreeBlocks, long newInodeTableInitBlocks,
      long newModifiedMillis) {
    return new Superblock(formatMajor, formatMinor, blockSize, inodeSize, totalBlocks, uuid, createdMillis,
        newModifiedMillis, sequence, compat, roCompat, incompat, moduleManifest, moduleConfig, inodeCount,
        newInodesUsed, newFreeBlocks, regionDirStart, regionDirBlocks, walStart, walBlocks, checkpointTxId,
        walSalt, newInodeTableInitBlocks, label, layout);
  }

  public Superblock withCheckpoint(long newSequence, long newCheckpointTxId, long newSalt) {
    return new Superblock(formatMajor, formatMinor, blockSize, inodeSize, totalBlocks, uuid, createdMillis,
        modifiedMillis, newSequence, compat, roCompat, incompat, moduleManifest, moduleConfig, inodeCount,
        inodesUsed, freeBlocks, regionDirStart, regionDirBlocks, walStart, walBlocks, newCheckpointTxId, newSalt,
        inodeTableInitBlocks, label, layout);
  }

  public Superblock withInodeTable(long newInodeCount, long newInitBlocks) {
    return new Superblock(formatMajor, formatMinor, blockSize, inodeSize, totalBlocks, uuid, createdMillis,
        modifiedMillis, sequence, compat, roCompat, incompat, moduleManifest, moduleConfig, newInodeCount,
        inodesUsed, freeBlocks, regionDirStart, regionDirBlocks, walStart, walBlocks, checkpointTxId, walSalt,
        newInitBlocks, label, layout);
  }

  /**
   * The label as text. A stored label that is not valid UTF-8 is damage (the engine writes only UTF-8, and create
   * refuses text it could not store): it is shown with U+FFFD for each byte of a malformed sequence, while the
   * record keeps the stored bytes themselves (as {@link #read} decoded them, see {@link #decodeLabel}) and
   * {@link #write} puts them back unchanged. Replaced when read, they used to be overwritten by the replacement
   * characters at the next superblock write, with nothing said: the original was lost for good.
   */
  public String label() {
    return isStoredLabelUtf8(label) ? label : displayLabel(label);
  }

  /**
   * Decodes {@code len} label bytes losslessly: valid UTF-8 as it is, and each byte of a malformed sequence (always
   * 0x80..0xFF: ASCII is never malformed) as the unpaired surrogate {@code U+DC00 + byte}, which valid UTF-8 never
   * decodes to. {@link #encodeLabel} turns them back into the same bytes.
   */
  static String decodeLabel(byte[] b, int off, int len) {
    CharsetDecoder d = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(b, off, len);
    CharBuffer out = CharBuffer.allocate(len);
    while (true) {
      CoderResult r = d.decode(in, out, true);
      if (r.isUnderflow()) {
        break;
      }
      if (r.isOverflow()) {
        throw new IllegalStateException("UTF-8 never decodes to more chars than it has bytes");
      }
      for (int i = 0; i < r.length(); i++) {
        out.put((char) (ESCAPE_BASE | (in.get() & 0xFF)));
      }
    }
    d.flush(out);
    return out.flip().toString();
  }

  /** The bytes of a label as {@link #decodeLabel} decoded it: the escaped bytes as they were, the rest as UTF-8. */
  static byte[] encodeLabel(String label) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    int runStart = 0;
    for (int i = 0; i < label.length(); i++) {
      if (isEscape(label, i)) {
        out.writeBytes(label.substring(runStart, i).getBytes(StandardCharsets.UTF_8));
        out.write(label.charAt(i) & 0xFF);
        runStart = i + 1;
      }
    }
    out.writeBytes(label.substring(runStart).getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }

  /** Where the label field (bytes 184..247) of {@code block} stops being valid UTF-8, or -1 when it does not. */
  public static int labelDamageOffset(byte[] block) {
    int n = labelLength(block);
    String decoded = decodeLabel(block, LABEL_OFFSET, n);
    int bytes = LABEL_OFFSET;
    for (int i = 0; i < decoded.length(); i++) {
      if (isEscape(decoded, i)) {
        return bytes;
      }
      char ch = decoded.charAt(i);
      if (Character.isHighSurrogate(ch)) {
        bytes += 4;
        i++;
      } else {
        bytes += ch < 0x80 ? 1 : ch < 0x800 ? 2 : 3;
      }
    }
    return -1;
  }

  private static final int ESCAPE_BASE = 0xDC00;

  /** Whether the char at {@code i} stands for a stored byte: an unpaired surrogate U+DC80..U+DCFF. */
  private static boolean isEscape(String s, int i) {
    char ch = s.charAt(i);
    return ch >= ESCAPE_BASE + 0x80 && ch <= ESCAPE_BASE + 0xFF
        && (i == 0 || !Character.isHighSurrogate(s.charAt(i - 1)));
  }

  private static boolean isStoredLabelUtf8(String label) {
    for (int i = 0; i < label.length(); i++) {
      if (isEscape(label, i)) {
        return false;
      }
    }
    return true;
  }

  private static String displayLabel(String label) {
    StringBuilder b = new StringBuilder(label.length());
    for (int i = 0; i < label.length(); i++) {
      b.append(isEscape(label, i) ? '\uFFFD' : label.charAt(i));
    }
    return b.toString();
  }

  private static int labelLength(byte[] b) {
    int n = 0;
    while (n < LABEL_BYTES && b[LABEL_OFFSET + n] != 0) {
      n++;
    }
    return n;
  }

  /** Which slot (block 0 or 1) this copy is written to. */
  public int slot() {
    return (int) (sequence & 1);
  }

  /** Encodes and seals this superblock into a new block of {@link #blockSize} bytes. */
  public byte[] write() {
    byte[] b = new byte[blockSize];
    Bytes.put32(b, 0, MAGIC);
    Bytes.put16(b, 4, formatMajor);
    Bytes.put16(b, 6, formatMinor);
    Bytes.put32(b, 8, blockSize);
    Bytes.put32(b, 12, inodeSize);
    Bytes.put64(b, 16, totalBlocks);
    Bytes.put64(b, 24, uuid.getMostSignificantBits());
    Bytes.put64(b, 32, uuid.getLeastSignificantBits());
    Bytes.put64(b, 40, createdMillis);
    Bytes.put64(b, 48, modifiedMillis);
    Bytes.put64(b, 56, sequence);
    Bytes.put64(b, 64, compat);
    Bytes.put64(b, 72, roCompat);
    Bytes.put64(b, 80, incompat);
    Bytes.put64(b, 88, moduleManifest);
    Bytes.put64(b, 96, moduleConfig);
    Bytes.put64(b, 104, inodeCount);
    Bytes.put64(b, 112, inodesUsed);
    Bytes.put64(b, 120, freeBlocks);
    Bytes.put64(b, 128, regionDirStart);
    Bytes.put32(b, 136, regionDirBlocks);
    Bytes.put64(b, 144, walStart);
    Bytes.put64(b, 152, walBlocks);
    Bytes.put64(b, 160, checkpointTxId);
    Bytes.put64(b, 168, walSalt);
    Bytes.put64(b, 176, inodeTableInitBlocks);
    byte[] lab = encodeLabel(label);
    System.arraycopy(lab, 0, b, LABEL_OFFSET, Math.min(lab.length, LABEL_BYTES));
    layout.write(b, LAYOUT_OFFSET);
    BlockCodec.seal(b, BlockType.SUPERBLOCK, (int) sequence);
    return b;
  }

  /**
   * Decodes a superblock copy read from block {@code blockNo}, checking the trailer, magic and every field
   * against the bounds the rest of the format needs. Version and feature checks are left to the caller, which
   * must decide between refusing and opening read-only.
   */
  public static Superblock read(byte[] b, long blockNo, String resource) throws VdeCorruptedException {
    if (b.length < MIN_BLOCK_SIZE) {
      throw new VdeCorruptedException(blockNo, "superblock", "block shorter than " + MIN_BLOCK_SIZE, resource);
    }
    int magic = Bytes.i32(b, 0);
    if (magic != MAGIC) {
      throw new VdeCorruptedException(blockNo, "superblock",
          "bad magic, expected VDE1 found " + BlockType.describeTag(magic), resource);
    }
    int bs = Bytes.i32(b, 8);
    if (!isValidBlockSize(bs)) {
      throw new VdeCorruptedException(blockNo, "superblock", "invalid block size " + bs, resource);
    }
    if (bs != b.length) {
      throw new VdeCorruptedException(blockNo, "superblock",
          "block size field says " + bs + " but the block was read as " + b.length + " bytes", resource);
    }
    BlockCodec.verify(b, blockNo, BlockType.SUPERBLOCK, resource);
    int inodeSize = Bytes.i32(b, 12);
    long total = Bytes.i64(b, 16);
    long inodeCount = Bytes.i64(b, 104);
    long rdStart = Bytes.i64(b, 128);
    int rdBlocks = Bytes.i32(b, 136);
    long walStart = Bytes.i64(b, 144);
    long walBlocks = Bytes.i64(b, 152);
    long free = Bytes.i64(b, 120);
    long used = Bytes.i64(b, 112);
    long init = Bytes.i64(b, 176);
    String bad = null;
    if (total < 16 || total > (1L << 48)) {
      bad = "total blocks " + total + " out of range";
    } else if (rdStart < 2 || rdBlocks < 1 || rdBlocks > 64 || rdStart > total - rdBlocks) {
      bad = "region directory at " + rdStart + "+" + rdBlocks + " outside the volume";
    } else if (walBlocks < MIN_WAL_BLOCKS) {
      bad = "metadata WAL of " + walBlocks + " blocks is smaller than the minimum of " + MIN_WAL_BLOCKS;
    } else if (walStart < 2 || walStart + walBlocks > total || walStart + walBlocks < walStart) {
      bad = "metadata WAL at " + walStart + "+" + walBlocks + " outside the volume";
    } else if (inodeCount < 2 || inodeCount > (1L << 32)) {
      bad = "inode count " + inodeCount + " out of range";
    } else if (used < 0 || used > inodeCount) {
      bad = "inodes used " + used + " exceeds inode count " + inodeCount;
    } else if (free < 0 || free > total) {
      bad = "free blocks " + free + " exceeds total " + total;
    } else if (init < 0 || init > total) {
      bad = "initialized inode-table blocks " + init + " out of range";
    } else if (inodeSize < InodeLayout.align(InodeLayout.CORE_SIZE) || inodeSize > bs - BlockCodec.TRAILER_SIZE
        || inodeSize % InodeLayout.ALIGNMENT != 0) {
      bad = "inode size " + inodeSize + " invalid for block size " + bs;
    }
    if (bad != null) {
      throw new VdeCorruptedException(blockNo, "superblock", bad, resource);
    }
    String[] why = new String[1];
    InodeLayout layout = InodeLayout.read(b, LAYOUT_OFFSET, bs - BlockCodec.TRAILER_SIZE, inodeSize, why);
    if (layout == null) {
      throw new VdeCorruptedException(blockNo, "superblock", why[0], resource);
    }
    String label = decodeLabel(b, LABEL_OFFSET, labelLength(b));
    return new Superblock(Bytes.u16(b, 4), Bytes.u16(b, 6), bs, inodeSize, total,
        new UUID(Bytes.i64(b, 24), Bytes.i64(b, 32)), Bytes.i64(b, 40), Bytes.i64(b, 48), Bytes.i64(b, 56),
        Bytes.i64(b, 64), Bytes.i64(b, 72), Bytes.i64(b, 80), Bytes.i64(b, 88), Bytes.i64(b, 96), inodeCount,
        used, free, rdStart, rdBlocks, walStart, walBlocks, Bytes.i64(b, 160), Bytes.i64(b, 168), init, label,
        layout);
  }
}
