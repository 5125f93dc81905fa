package dev.vde.wal;

import dev.vde.VdeCorruptedException;
import dev.vde.VdeException;
import dev.vde.format.Bytes;
import dev.vde.format.Superblock;
import dev.vde.io.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * Finds the superblock: reads both slots (blocks 0 and 1) and takes the valid copy with the higher sequence.
 * The block size is not known before the superblock is read, so slot 1 is looked for at every legal block size.
 */
public final class SuperblockSlots {
  /** The chosen copy, and why the other one was not usable (null when both were valid). */
  public record Loaded(Superblock superblock, String otherSlotProblem) {}

  private SuperblockSlots() {}

  public static Loaded load(BlockDevice dev) throws IOException {
    String res = dev.describe();
    long size = dev.size();
    if (size < Superblock.MIN_BLOCK_SIZE) {
      throw new VdeCorruptedException(-1, "superblock",
          "not a vde image: file is " + size + " bytes, shorter than one block", res);
    }
    Superblock best = null;
    VdeCorruptedException firstError = null;
    String otherProblem = null;
    int bestBs = -1;
    for (int bs = Superblock.MIN_BLOCK_SIZE; bs <= Superblock.MAX_BLOCK_SIZE; bs <<= 1) {
      Superblock[] slots = new Superblock[2];
      String[] errs = new String[2];
      boolean any = false;
      for (int slot = 0; slot < 2; slot++) {
        long pos = (long) slot * bs;
        if (pos + bs > size) {
          errs[slot] = "past the end of the file";
          continue;
        }
        byte[] head = new byte[16];
        dev.read(pos, ByteBuffer.wrap(head));
        if (Bytes.i32(head, 0) != Superblock.MAGIC || Bytes.i32(head, 8) != bs) {
          errs[slot] = "no superblock (bad magic or block size)";
          continue;
        }
        any = true;
        byte[] b = new byte[bs];
        dev.read(pos, ByteBuffer.wrap(b));
        try {
          Superblock sb = Superblock.read(b, slot, res);
          if (sb.slot() != slot) {
            throw new VdeCorruptedException(slot, "superblock",
                "sequence " + sb.sequence() + " belongs in slot " + sb.slot(), res);
          }
          slots[slot] = sb;
        } catch (VdeCorruptedException e) {
          errs[slot] = e.getOriginalMessage();
          if (firstError == null) {
            firstError = e;
          }
        }
      }
      if (!any) {
        continue;
      }
      Superblock pick = slots[0];
      int other = 1;
      if (pick == null || slots[1] != null && slots[1].sequence() > pick.sequence()) {
        pick = slots[1];
        other = 0;
      }
      if (pick != null && (best == null || pick.sequence() > best.sequence())) {
        best = pick;
        bestBs = bs;
        otherProblem = slots[other] == null ? "superblock copy in block " + other + " is unusable: " + errs[other]
            : stale(slots[other], pick, other);
      }
    }
    if (best == null) {
      if (firstError != null) {
        throw firstError;
      }
      throw new VdeCorruptedException(-1, "superblock", "not a vde image: no superblock with magic VDE1 found", res);
    }
    // Compared by division: 2^48 blocks of 64 KiB would overflow a product to 0.
    if (best.totalBlocks() > size / bestBs) {
      // The missing tail cannot be told from a sparse hole that was cut off, so nothing guesses; if the file was
      // merely shortened (a copy tool that dropped a trailing hole), extending it back restores the volume.
      throw new VdeCorruptedException(-1, "host file", "truncated: volume needs " + best.totalBlocks() * bestBs
          + " bytes but the file has " + size + "; if only a trailing hole was lost, 'truncate -s "
          + best.totalBlocks() * bestBs + "' on the file restores it (check it with 'vde fsck' then)", res);
    }
    return new Loaded(best, otherProblem);
  }

  /**
   * Why the older copy {@code o} cannot stand in for the newest {@code n}, or null. A checkpoint writes the same
   * WAL epoch (salt and checkpoint transaction) to both slots, so a copy naming another epoch is left from a
   * checkpoint that was cut between its two writes (or from an engine that wrote one slot per checkpoint): were
   * the newest copy lost, it would not find the transactions of the current epoch. A copy still marked as an
   * incomplete copy is left by a copy cut between its two final superblock writes: were the newest lost, the
   * volume would not open at all.
   */
  private static String stale(Superblock o, Superblock n, int slot) {
    if ((o.incompat() & Superblock.INCOMPAT_INCOMPLETE_COPY) != 0) {
      return "superblock copy in block " + slot + " is still marked as an incomplete copy (sequence "
          + o.sequence() + ", the newest is " + n.sequence() + "): were the newest lost, the volume would not open";
    }
    if (o.walSalt() == n.walSalt() && o.checkpointTxId() == n.checkpointTxId()) {
      // The same checkpoint wrote both, so they are the same superblock but for the sequence (and the time of the
      // last change, which a copy's destination writes a moment apart). One that differs otherwise was damaged
      // under a valid checksum or written by something else: were the newest lost, open would take its fields as
      // they are. It is repaired like a copy of an older epoch.
      Superblock same = o.withCounts(o.inodesUsed(), o.freeBlocks(), o.inodeTableInitBlocks(), n.modifiedMillis())
          .withCheckpoint(n.sequence(), n.checkpointTxId(), n.walSalt());
      String field = firstDifference(same, n);
      return field == null ? null : "superblock copy in block " + slot + " (sequence " + o.sequence() + ") differs "
          + "from the newest copy of the same checkpoint (sequence " + n.sequence() + ") in its " + field
          + ": were the newest lost, open would take it as it is";
    }
    return "superblock copy in block " + slot + " is from an earlier checkpoint (sequence " + o.sequence()
        + ", the newest is " + n.sequence() + ") and would not find the current WAL";
  }

  /**
   * The name of the first field in which {@code a} and {@code b} differ, or null when they are equal. Field by
   * field rather than through the record's equals: a record's first equals call builds a method handle for each
   * of its components at run time, 22 ms of every open of a volume in a fresh process, for a comparison of two
   * dozen numbers. {@link #FIELD_NAMES} holds the components in record order; a test checks that it covers them all.
   */
  static String firstDifference(Superblock a, Superblock b) {
    Object[] x = fields(a);
    Object[] y = fields(b);
    for (int i = 0; i < x.length; i++) {
      if (!Objects.equals(x[i], y[i])) {
        return FIELD_NAMES[i];
      }
    }
    return null;
  }

  /** Names of the superblock's components, in the order of {@link #fields}. */
  static final String[] FIELD_NAMES = {"formatMajor", "formatMinor", "blockSize", "inodeSize", "totalBlocks", "uuid",
      "createdMillis", "modifiedMillis", "sequence", "compat", "roCompat", "incompat", "moduleManifest",
      "moduleConfig", "inodeCount", "inodesUsed", "freeBlocks", "regionDirStart", "regionDirBlocks", "walStart",
      "walBlocks", "checkpointTxId", "walSalt", "inodeTableInitBlocks", "label", "inode layout"};

  private static Object[] fields(Superblock s) {
    return new Object[] {s.formatMajor(), s.formatMinor(), s.blockSize(), s.inodeSize(), s.totalBlocks(), s.uuid(),
        s.createdMillis(), s.modifiedMillis(), s.sequence(), s.compat(), s.roCompat(), s.incompat(),
        s.moduleManifest(), s.moduleConfig(), s.inodeCount(), s.inodesUsed(), s.freeBlocks(), s.regionDirStart(),
        s.regionDirBlocks(), s.walStart(), s.walBlocks(), s.checkpointTxId(), s.walSalt(), s.inodeTableInitBlocks(),
        s.label(), s.layout()};
  }

  /** Checks the format version; feature masks are the engine's business. */
  public static void checkVersion(Superblock sb, String res) throws VdeException {
    if (sb.formatMajor() > Superblock.FORMAT_MAJOR) {
      throw new dev.vde.VdeFormatTooNewException("format version " + sb.formatMajor() + "." + sb.formatMinor()
          + " is newer than this engine reads (" + Superblock.FORMAT_MAJOR + ".x); upgrade vde", res);
    }
    if (sb.formatMajor() < Superblock.FORMAT_MAJOR) {
      throw new dev.vde.VdeFormatTooOldException("format version " + sb.formatMajor() + "." + sb.formatMinor()
          + " is older than this engine reads (" + Superblock.FORMAT_MAJOR + ".x)", res);
    }
  }
}
