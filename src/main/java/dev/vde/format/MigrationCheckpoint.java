package dev.vde.format;

import dev.vde.VdeCorruptedException;

/**
 * The progress record of an inode migration, kept in the two MCHK blocks of the checkpoint region. Writes
 * alternate between the blocks ({@code slot = sequence % 2}) and each carries its own XXH3-64 payload checksum
 * as well as the block trailer, so a torn or damaged write is detected and the previous record survives it.
 *
 * <p>A checkpoint only ever claims durable progress: the new-table blocks it counts were synced before it was
 * written. It is authoritative only while the superblock has {@link Superblock#INCOMPAT_MIGRATION_PENDING};
 * otherwise it is a leftover of a migration that finished or never started, and is ignored.
 *
 * <pre>
 *   0 u32 version (1)          4 u32 phase (see {@link Phase})     8 u64 migrationId    16 u64 sequence
 *  24 u64 targetModules       32 u64 originalManifest            40 u64 targetManifest
 *  48 u32 originalInodeSize   52 u32 targetInodeSize             56 u64 totalInodes   64 u64 inodesMigrated
 *  72 u64 oldTableStart       80 u64 oldTableBlocks              88 u64 newTableStart 96 u64 newTableBlocks
 * 104 u64 startMillis        112 u64 lastCheckpointMillis       120 u32 checkpointInterval 124 u32 zero
 * 128 original layout descriptor (InodeLayout, 160 bytes reserved)
 * 288 target layout descriptor (160 bytes reserved)
 * 448 u64 XXH3-64 of bytes [0, 448)
 * </pre>
 */
public record MigrationCheckpoint(
    Phase phase,
    long migrationId,
    long sequence,
    long targetModules,
    long originalManifest,
    long targetManifest,
    InodeLayout originalLayout,
    InodeLayout targetLayout,
    long totalInodes,
    long inodesMigrated,
    long oldTableStart,
    long oldTableBlocks,
    long newTableStart,
    long newTableBlocks,
    long startMillis,
    long lastCheckpointMillis,
    int checkpointInterval) {

  public static final int VERSION = 1;
  public static final int PAYLOAD_BYTES = 448;
  private static final int LAYOUT_SLOT = 160;

  /** Migration phases; the code is what is stored. */
  public enum Phase {
    ALLOCATING(1),
    COPYING_INODES(2),
    SWAPPING_REGIONS(3),
    COMPLETE(4),
    ROLLING_BACK(5);

    private final int code;

    Phase(int code) {
      this.code = code;
    }

    public int code() {
      return code;
    }

    static Phase of(int code) {
      for (Phase p : values()) {
        if (p.code == code) {
          return p;
        }
      }
      return null;
    }
  }

  public MigrationCheckpoint with(Phase newPhase, long migrated, long total, long now) {
    return new MigrationCheckpoint(newPhase, migrationId, sequence + 1, targetModules, originalManifest,
        targetManifest, originalLayout, targetLayout, total, migrated, oldTableStart, oldTableBlocks, newTableStart,
        newTableBlocks, startMillis, now, checkpointInterval);
  }

  /**
   * This record with {@code interval} as its checkpoint interval, the basis of the records of a run that uses it:
   * a resume may choose another interval than the run before it, and the field says what the records in force
   * were written by.
   */
  public MigrationCheckpoint withCheckpointInterval(int interval) {
    return new MigrationCheckpoint(phase, migrationId, sequence, targetModules, originalManifest, targetManifest,
        originalLayout, targetLayout, totalInodes, inodesMigrated, oldTableStart, oldTableBlocks, newTableStart,
        newTableBlocks, startMillis, lastCheckpointMillis, interval);
  }

  /** Which of the two MCHK blocks this record goes to. */
  public int slot() {
    return (int) (sequence & 1);
  }

  public byte[] write(int blockSize) {
    byte[] b = new byte[blockSize];
    Bytes.put32(b, 0, VERSION);
    Bytes.put32(b, 4, phase.code());
    Bytes.put64(b, 8, migrationId);
    Bytes.put64(b, 16, sequence);
    Bytes.put64(b, 24, targetModules);
    Bytes.put64(b, 32, originalManifest);
    Bytes.put64(b, 40, targetManifest);
    Bytes.put32(b, 48, originalLayout.inodeSize());
    Bytes.put32(b, 52, targetLayout.inodeSize());
    Bytes.put64(b, 56, totalInodes);
    Bytes.put64(b, 64, inodesMigrated);
    Bytes.put64(b, 72, oldTableStart);
    Bytes.put64(b, 80, oldTableBlocks);
    Bytes.put64(b, 88, newTableStart);
    Bytes.put64(b, 96, newTableBlocks);
    Bytes.put64(b, 104, startMillis);
    Bytes.put64(b, 112, lastCheckpointMillis);
    Bytes.put32(b, 120, checkpointInterval);
    originalLayout.write(b, 128);
    targetLayout.write(b, 128 + LAYOUT_SLOT);
    Bytes.put64(b, PAYLOAD_BYTES, BlockCodec.hash(b, 0, PAYLOAD_BYTES));
    BlockCodec.seal(b, BlockType.MIGRATION_CHECKPOINT, (int) sequence);
    return b;
  }

  /**
   * Decodes one MCHK block; returns null when it holds no checkpoint (all zero). Damage (trailer, payload
   * checksum, impossible values) raises {@link VdeCorruptedException}.
   */
  public static MigrationCheckpoint read(byte[] b, long blockNo, String resource) throws VdeCorruptedException {
    if (Bytes.isZero(b, 0, b.length)) {
      return null;
    }
    BlockCodec.verify(b, blockNo, BlockType.MIGRATION_CHECKPOINT, resource);
    long sum = Bytes.i64(b, PAYLOAD_BYTES);
    long actual = BlockCodec.hash(b, 0, PAYLOAD_BYTES);
    if (sum != actual) {
      throw new VdeCorruptedException(blockNo, "migration checkpoint", String.format(
          "payload checksum mismatch, expected=%016x found=%016x", actual, sum), resource);
    }
    int version = Bytes.i32(b, 0);
    Phase phase = Phase.of(Bytes.i32(b, 4));
    if (version != VERSION || phase == null) {
      throw new VdeCorruptedException(blockNo, "migration checkpoint", "unknown version " + version + " or phase "
          + Bytes.i32(b, 4), resource);
    }
    String[] why = new String[1];
    InodeLayout from = InodeLayout.read(b, 128, 128 + LAYOUT_SLOT, Bytes.i32(b, 48), why);
    InodeLayout to = from == null ? null : InodeLayout.read(b, 128 + LAYOUT_SLOT, PAYLOAD_BYTES, Bytes.i32(b, 52), why);
    if (to == null) {
      throw new VdeCorruptedException(blockNo, "migration checkpoint", why[0], resource);
    }
    long total = Bytes.i64(b, 56);
    long done = Bytes.i64(b, 64);
    if (total < 0 || done < 0 || done > total) {
      throw new VdeCorruptedException(blockNo, "migration checkpoint", "migrated " + done + " of " + total,
          resource);
    }
    return new MigrationCheckpoint(phase, Bytes.i64(b, 8), Bytes.i64(b, 16), Bytes.i64(b, 24), Bytes.i64(b, 32),
        Bytes.i64(b, 40), from, to, total, done, Bytes.i64(b, 72), Bytes.i64(b, 80), Bytes.i64(b, 88),
        Bytes.i64(b, 96), Bytes.i64(b, 104), Bytes.i64(b, 112), Bytes.i32(b, 120));
  }

  /**
   * Decodes the record in slot {@code slot} (0 or 1) of the checkpoint region starting at {@code firstBlock}, as
   * {@link #read} does, and also refuses a record whose sequence selects the other slot. Records alternate between
   * the slots by sequence, so that the one being written never overwrites the last durable one: a record found in
   * the wrong slot was not put there by that rule (a misdirected write, a block copied over its neighbour), and
   * taking it could pair it with a neighbour that is not its predecessor.
   */
  public static MigrationCheckpoint readSlot(byte[] b, long firstBlock, int slot, String resource)
      throws VdeCorruptedException {
    long blockNo = firstBlock + slot;
    MigrationCheckpoint c = read(b, blockNo, resource);
    if (c != null && c.slot() != slot) {
      throw new VdeCorruptedException(blockNo, "migration checkpoint", wrongSlot(c, firstBlock), resource);
    }
    return c;
  }

  /** What is wrong with record {@code c} found in the other block than its sequence selects. */
  public static String wrongSlot(MigrationCheckpoint c, long firstBlock) {
    return "record with sequence " + c.sequence() + " is in slot " + (1 - c.slot()) + ", but its sequence selects "
        + "slot " + c.slot() + " (block " + (firstBlock + c.slot()) + ")";
  }

  /**
   * The newer valid record of the two slots, or null when neither holds one. A damaged slot, or one holding a
   * record that belongs in the other ({@link #readSlot}), is skipped (its neighbour is the previous record); both
   * damaged raises the first error.
   */
  public static MigrationCheckpoint newest(byte[] slot0, byte[] slot1, long firstBlock, String resource)
      throws VdeCorruptedException {
    MigrationCheckpoint a = null;
    MigrationCheckpoint c = null;
    VdeCorruptedException err = null;
    try {
      a = readSlot(slot0, firstBlock, 0, resource);
    } catch (VdeCorruptedException e) {
      err = e;
    }
    try {
      c = readSlot(slot1, firstBlock, 1, resource);
    } catch (VdeCorruptedException e) {
      if (err != null) {
        throw err;
      }
    }
    if (a == null) {
      return c;
    }
    if (c == null) {
      return a;
    }
    return a.sequence() >= c.sequence() ? a : c;
  }
}
