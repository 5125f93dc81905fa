package dev.vde.check;

import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.InodeLayout;
import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.MigrationTarget;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The superblock: both on-disk copies, read raw from the device (the journal only knows the copy it opened
 * with), and the published superblock's own fields. The counts it keeps (free blocks, inodes used) are compared
 * by the phases that compute the real values.
 */
final class SuperblockChecks {
  static final String STRUCTURE = "superblock";
  static final String PHASE = "superblock";

  private SuperblockChecks() {}

  static void run(CheckContext cx) throws IOException {
    cx.progress(PHASE, 0, 2, "blocks");
    // Read together, between checkpoints: one caught between its two slot writes would look like one that was cut.
    byte[][] raw = cx.vol.journal().readSuperblockSlots();
    Superblock[] copies = new Superblock[2];
    for (int slot = 0; slot < 2; slot++) {
      copies[slot] = checkCopy(cx, slot, raw[slot]);
      cx.progress(PHASE, slot + 1, 2, "blocks");
    }
    checkSameCheckpoint(cx, copies);
    checkCopiesAgree(cx, copies, raw);
    checkFields(cx);
    String walDamage = cx.vol.journal().recovery().walDamage();
    if (walDamage != null) {
      cx.problems.add(-1, "WAL", walDamage);
    }
    checkPendingMigration(cx);
    checkMigrationRecords(cx);
    checkNewTable(cx);
  }

  /**
   * The new table of a pending migration, before its swap: every block wholly below the watermark (inode-table
   * trailer, generation = its index in the new table). The swap installs those blocks as they are and frees the
   * old table; a resume reads them back first and copies again from the first damaged one (the old table has every
   * inode's current record), but a damaged one is damage all the same, and a running migration would swap it in.
   * The block holding the watermark itself is left out: open already checked it (and lowered the watermark when it
   * was torn), and a running copy rewrites it in place.
   */
  private static void checkNewTable(CheckContext cx) throws IOException {
    MigrationTarget t = cx.vol.migrationTarget();
    if (t == null || (cx.vol.superblock().incompat() & Superblock.INCOMPAT_MIGRATION_PENDING) == 0) {
      return;
    }
    long whole = Math.min(t.watermark() / t.perBlock(), t.newTableBlocks());
    for (long k = 0; k < whole; k++) {
      long blockNo = t.newTableStart() + k;
      String context = "new inode table of the pending migration, block " + k + ", below its watermark of "
          + t.watermark() + " inodes; 'vde migrate resume' copies it again from the old table";
      byte[] b = cx.readMetadata(blockNo, BlockType.INODE_TABLE, context);
      if (b != null) {
        cx.checkGeneration(b, blockNo, BlockType.INODE_TABLE, k, "its index in the new inode table of the pending "
            + "migration");
      }
    }
  }

  /**
   * A pending migration's records sit in the slot their sequence selects, and keep bytes 124..127 and everything from
   * 456 to the trailer zero (FORMAT.md section 16), and the engine writes them whole. Their checksum covers only bytes
   * 0..447, so damage after it passes unseen by open. A block that does not decode is not reported here: after a torn
   * checkpoint write the older slot holds the current record, which is a state recovery expects.
   */
  private static void checkMigrationRecords(CheckContext cx) throws IOException {
    RegionDirectory.Entry chk = cx.vol.regions().find(RegionDirectory.TAG_CHECKPOINT);
    if ((cx.vol.superblock().incompat() & Superblock.INCOMPAT_MIGRATION_PENDING) == 0 || chk == null) {
      return;
    }
    for (long k = 0; k < Math.min(2, chk.blocks()); k++) {
      long blockNo = chk.start() + k;
      byte[] b = new byte[cx.blockSize];
      cx.vol.device().read(blockNo * cx.blockSize, ByteBuffer.wrap(b));
      MigrationCheckpoint c;
      try {
        c = MigrationCheckpoint.read(b, blockNo, cx.resource);
      } catch (VdeCorruptedException e) {
        continue;
      }
      if (c == null) {
        continue;
      }
      String record = "migration checkpoint block " + blockNo;
      if (c.slot() != k) {
        // Open skips such a record as damaged (FORMAT.md section 16); a torn write leaves no record like it.
        cx.problems.add(blockNo, "migration checkpoint", record + ": " + MigrationCheckpoint.wrongSlot(c,
            chk.start()));
      }
      if (!Bytes.isZero(b, 124, 4)) {
        cx.problems.add(blockNo, "migration checkpoint", record + " has non-zero reserved bytes 124..127");
      }
      int end = MigrationCheckpoint.PAYLOAD_BYTES + 8;
      if (!Bytes.isZero(b, end, cx.payload - end)) {
        cx.problems.add(blockNo, "migration checkpoint", record + " has non-zero bytes " + end + ".."
            + (cx.payload - 1) + " after its checksum");
      }
    }
  }

  /**
   * A pending migration must have a checkpoint that describes it: without one it can neither resume nor say how
   * far it got (open warns, and only a rollback is left).
   */
  private static void checkPendingMigration(CheckContext cx) {
    if ((cx.vol.superblock().incompat() & Superblock.INCOMPAT_MIGRATION_PENDING) == 0
        || cx.vol.pendingMigration() != null) {
      return;
    }
    RegionDirectory.Entry chk = cx.vol.regions().find(RegionDirectory.TAG_CHECKPOINT);
    cx.problems.add(chk == null ? -1 : chk.start(), "migration checkpoint", "an inode migration is pending but no "
        + "valid checkpoint describes it, so it cannot resume; roll it back with 'vde migrate rollback'");
  }

  /**
   * Both copies must name the same WAL epoch (salt and checkpoint transaction): a checkpoint writes it to both
   * slots, so a copy naming another one is left by a checkpoint cut between its two writes. Were the newest copy
   * lost then, open would take the older one, look for the WAL of an epoch that is gone, and come up without the
   * transactions since (FORMAT.md section 5). Open warns about it and a writable open rewrites the copy; a
   * read-only check must say so too, as it does for a copy still marked as an incomplete copy.
   */
  private static void checkSameCheckpoint(CheckContext cx, Superblock[] copies) {
    Superblock a = copies[0];
    Superblock b = copies[1];
    if (a == null || b == null || a.sequence() == b.sequence()
        || ((a.incompat() | b.incompat()) & Superblock.INCOMPAT_INCOMPLETE_COPY) != 0) {
      return;
    }
    Superblock older = a.sequence() < b.sequence() ? a : b;
    Superblock newer = older == a ? b : a;
    if (older.walSalt() != newer.walSalt() || older.checkpointTxId() != newer.checkpointTxId()) {
      int slot = older == a ? 0 : 1;
      cx.problems.add(slot, STRUCTURE, "superblock copy " + slot + " is from an earlier checkpoint (sequence "
          + older.sequence() + ", the newest is " + newer.sequence() + "): were the newest copy lost, open would "
          + "not find the current WAL and the transactions since (the next writable open rewrites it)");
    }
  }

  /** Superblock fields by offset, for naming where two copies differ (FORMAT.md section 5). */
  private static final int[] FIELD_OFFSETS = {0, 4, 6, 8, 12, 16, 24, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120,
      128, 136, 140, 144, 152, 160, 168, 176, Superblock.LABEL_OFFSET, Superblock.LAYOUT_OFFSET};
  private static final String[] FIELD_NAMES = {"magic", "formatMajor", "formatMinor", "blockSize", "inodeSize",
      "totalBlocks", "uuid", "createdMillis", "modifiedMillis", "sequence", "compat", "roCompat", "incompat",
      "moduleManifest", "moduleConfig", "inodeCount", "inodesUsed", "freeBlocks", "regionDirStart",
      "regionDirBlocks", "reserved", "walStart", "walBlocks", "checkpointTxId", "walSalt", "inodeTableInitBlocks",
      "label", "inode layout"};

  /**
   * Two copies of the same checkpoint (same WAL epoch) must agree in every byte but the sequence (and the time of
   * the last change, which a copy's destination may write a moment apart): a checkpoint writes one superblock twice
   * (FORMAT.md section 5). A copy that differs in anything else was damaged under a valid checksum or written by
   * something else, and the volume depends on it the moment the other copy is lost: open would then take its
   * geometry, counts or layout. Nothing compared them, so such a copy passed as clean.
   */
  private static void checkCopiesAgree(CheckContext cx, Superblock[] copies, byte[][] raw) {
    Superblock a = copies[0];
    Superblock b = copies[1];
    if (a == null || b == null || a.sequence() == b.sequence() || a.walSalt() != b.walSalt()
        || a.checkpointTxId() != b.checkpointTxId()
        || ((a.incompat() | b.incompat()) & Superblock.INCOMPAT_INCOMPLETE_COPY) != 0) {
      return;
    }
    int older = a.sequence() < b.sequence() ? 0 : 1;
    byte[] x = raw[older];
    byte[] y = raw[1 - older];
    for (int i = 0; i < cx.payload; i++) {
      if (i == 48) {
        i = 63; // modifiedMillis and sequence
        continue;
      }
      if (x[i] != y[i]) {
        int f = 0;
        while (f + 1 < FIELD_OFFSETS.length && FIELD_OFFSETS[f + 1] <= i) {
          f++;
        }
        String field = i >= Superblock.LAYOUT_OFFSET + InodeLayout.MAX_ENCODED_SIZE ? "the bytes after the layout"
            : FIELD_NAMES[f];
        // Which of the two is wrong cannot be told; the older is named, as open falls back to it.
        cx.problems.add(older, STRUCTURE, "superblock copy " + older + " (sequence " + copies[older].sequence()
            + ") differs from copy " + (1 - older) + " of the same checkpoint in its " + field + " (byte " + i
            + "), so one of them is damaged: open uses copy " + (1 - older) + ", and would take copy " + older
            + " as it is were that one lost");
        return;
      }
    }
  }

  /**
   * One copy must decode, sit in the slot its sequence selects, and describe this volume. A bad copy does not stop
   * the volume (open takes the other one) but leaves it one torn write away from being unopenable. Returns the
   * copy when it decodes, else null.
   */
  private static Superblock checkCopy(CheckContext cx, int slot, byte[] b) {
    cx.blocksChecked++;
    String copy = "superblock copy " + slot;
    if (Bytes.isZero(b, 0, b.length)) {
      cx.problems.add(slot, STRUCTURE, copy + " is missing: the block is all zero; only the other copy is left");
      return null;
    }
    Superblock c;
    try {
      c = Superblock.read(b, slot, cx.resource);
    } catch (VdeCorruptedException e) {
      cx.problems.add(e, copy + " is unusable; only the other copy is left");
      return null;
    }
    if (c.slot() != slot) {
      cx.problems.add(slot, STRUCTURE, copy + " holds sequence " + c.sequence() + ", which belongs in slot "
          + c.slot());
    }
    if ((c.incompat() & Superblock.INCOMPAT_INCOMPLETE_COPY) != 0) {
      // The volume opened, so the other copy is a finished one: this is what a copy cut between its two final
      // superblock writes leaves, and it cannot stand in for the other (FORMAT.md section 18).
      cx.problems.add(slot, STRUCTURE, copy + " is still marked as an incomplete copy (incompat bit 1); were the "
          + "other copy lost, the volume would not open (the next writable open rewrites it)");
    }
    int bad = Superblock.labelDamageOffset(b);
    if (bad >= 0) {
      // Only damage (or another writer) leaves one: the engine writes UTF-8. It keeps the bytes as they are, so
      // restoring the label from a backup or another copy stays possible.
      cx.problems.add(slot, STRUCTURE, copy + " has a label that is not valid UTF-8 (bytes " + Superblock.LABEL_OFFSET
          + ".." + (Superblock.LABEL_OFFSET + Superblock.LABEL_BYTES - 1) + ", malformed from byte " + bad
          + "): it is shown with U+FFFD, and its bytes are kept unchanged");
    }
    if (!c.uuid().equals(cx.sb.uuid())) {
      cx.problems.add(slot, STRUCTURE, copy + " has uuid " + c.uuid() + ", expected the volume's " + cx.sb.uuid());
    }
    if (c.blockSize() != cx.sb.blockSize() || c.totalBlocks() != cx.sb.totalBlocks()) {
      cx.problems.add(slot, STRUCTURE, copy + " describes " + Text.num(c.totalBlocks()) + " blocks of "
          + c.blockSize() + " bytes, expected " + Text.num(cx.sb.totalBlocks()) + " blocks of " + cx.sb.blockSize());
    }
    return c;
  }

  private static void checkFields(CheckContext cx) throws IOException {
    long need = cx.totalBlocks * cx.blockSize;
    long size = cx.vol.device().size();
    if (size < need) {
      cx.problems.add(-1, "host file", "host file is " + Text.num(size) + " bytes, the volume needs "
          + Text.num(need) + " (truncated)");
    }
    for (String p : cx.sb.layout().problems()) {
      cx.problems.add(-1, STRUCTURE, "inode layout: " + p);
    }
    if (cx.sb.layout().inodeSize() != cx.sb.inodeSize()) {
      cx.problems.add(-1, STRUCTURE, "inode layout is for " + cx.sb.layout().inodeSize() + "-byte inodes, the "
          + "superblock says " + cx.sb.inodeSize());
    }
    if (cx.sb.inodeSize() > cx.payload) {
      cx.problems.add(-1, STRUCTURE, "inode size " + cx.sb.inodeSize() + " exceeds the block payload " + cx.payload);
    }
    checkManifestAgainstLayout(cx);
  }

  /**
   * Every active module with inode bytes has its field in the layout, of its size, and every field belongs to an
   * active module: a module active without its field has lost its values and cannot get them back (adding it
   * again is refused as already active).
   */
  private static void checkManifestAgainstLayout(CheckContext cx) {
    long manifest = cx.sb.moduleManifest();
    for (dev.vde.format.Module m : dev.vde.format.Module.fromManifest(manifest)) {
      dev.vde.format.InodeLayout.Field f = cx.sb.layout().fieldFor(m);
      if (m.inodeBytes() > 0 && (f == null || f.size() != m.inodeBytes())) {
        cx.problems.add(-1, STRUCTURE, "module " + m.displayName() + " is active but the inode layout "
            + (f == null ? "has no field for it" : "gives it " + f.size() + " bytes, not " + m.inodeBytes()));
      }
    }
    for (dev.vde.format.InodeLayout.Field f : cx.sb.layout().fields()) {
      if (f.moduleId() < 0 || f.moduleId() >= 64 || (manifest & 1L << f.moduleId()) == 0) {
        cx.problems.add(-1, STRUCTURE, "the inode layout has a field for module " + f.moduleId() + ", which the "
            + "module manifest does not list as active");
      }
    }
  }

  /** Compares the superblock's used-inode count with the inode table; skipped when part of it was unreadable. */
  static void checkInodesUsed(CheckContext cx, InodeFacts facts) {
    if (!facts.incomplete && facts.live != cx.sb.inodesUsed()) {
      cx.problems.add(-1, STRUCTURE, "inodes used is " + Text.num(cx.sb.inodesUsed()) + ", but the inode table "
          + "holds " + Text.num(facts.live) + " in-use inodes");
    }
  }
}
