package dev.vde.cli;

import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.fs.VolumeInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/** The human-readable form of {@code vde info}: one aligned summary, then the region layout. */
final class VolumeInfoText {
  private VolumeInfoText() {}

  static List<String> lines(VolumeInfo info) {
    long totalBytes = info.totalBlocks() * info.blockSize();
    long freeBytes = info.freeBlocks() * info.blockSize();
    TextTable summary = new TextTable(false, false)
        .row("Image", info.path())
        .row("Format", info.formatMajor() + "." + info.formatMinor())
        .row("Label", info.label() == null || info.label().isEmpty() ? "(none)" : info.label())
        .row("UUID", info.uuid())
        .row("Created", orDash(Times.iso(info.created())))
        .row("Modified", orDash(Times.iso(info.modified())))
        .row("Capacity", ByteSize.format(totalBytes) + " in " + count(info.totalBlocks()) + " blocks of "
            + count(info.blockSize()) + " bytes")
        .row("Free", ByteSize.format(freeBytes) + " (" + count(info.freeBlocks()) + " blocks, "
            + percent(info.freeBlocks(), info.totalBlocks()) + ")")
        .row("Inodes", inodes(info) + ", " + info.inodeSize() + " bytes each (" + info.paddingBytes() + " padding)")
        .row("Modules", modules(info.modules()))
        .row("Access", info.readOnlyReason() == null ? "read-write" : "read-only: " + info.readOnlyReason())
        .row("Migration", migration(info.migration(), swapCommitted(info)));
    List<String> out = new ArrayList<>(summary.lines(""));
    out.add("");
    out.add("Regions");
    TextTable regions = new TextTable(false, true, true, true).row("TYPE", "START", "BLOCKS", "SIZE");
    for (RegionDirectory.Entry e : info.regions()) {
      regions.row(e.tagText(), count(e.start()), count(e.blocks()), ByteSize.format(e.blocks() * info.blockSize()));
    }
    out.addAll(regions.lines("  "));
    if (!info.warnings().isEmpty()) {
      out.add("");
      out.add("Warnings");
      // Escaped as the tables are: a warning may quote the image's path, which may hold a line break.
      info.warnings().forEach(w -> out.add("  - " + Printable.of(w)));
    }
    return out;
  }

  /**
   * "1 used, 62 free of 64 (inode 0 is reserved)". The count includes inode 0, which no file ever gets: "3 used of
   * 4" on a volume that refuses a fourth file with "no free inodes" would promise room that is not there.
   */
  private static String inodes(VolumeInfo info) {
    long free = Math.max(0, info.inodeCount() - 1 - info.inodesUsed());
    return count(info.inodesUsed()) + " used, " + count(free) + " free of " + count(info.inodeCount())
        + " (inode 0 is reserved)";
  }

  /**
   * A pending migration and the command that goes on with it. {@code swapped}: whether its region swap has
   * committed (the old table is listed as INOO), or null when that is not known (a peek at another process's
   * volume reads only the records).
   */
  static String migration(dev.vde.fs.VolumeInfo.Migration m, Boolean swapped) {
    if (m == null) {
      return "none";
    }
    String what = m.adding().isEmpty() ? "" : " adding " + modules(m.adding());
    return "pending" + what + ": " + m.phase() + ", " + count(m.migrated()) + " of " + count(m.total())
        + " inodes copied (" + nextStep(m.phase(), swapped) + ")";
  }

  /**
   * Only what will be accepted: resume refuses a rollback under way and a migration whose record is unreadable
   * before the swap; rollback refuses once the swap has committed (a COMPLETE record comes only after it).
   */
  private static String nextStep(String phase, Boolean swapped) {
    if (Boolean.TRUE.equals(swapped) || phase.equals("COMPLETE")) {
      return "vde migrate resume finishes it";
    }
    if (phase.equals("ROLLING_BACK")) {
      return "vde migrate rollback finishes undoing it";
    }
    if (phase.equals("UNKNOWN") && Boolean.FALSE.equals(swapped)) {
      return "vde migrate rollback undoes it";
    }
    return "vde migrate resume|rollback";
  }

  /** Whether the migration's region swap has committed: the old table is kept as INOO until it is freed. */
  static boolean swapCommitted(VolumeInfo info) {
    return info.regions().stream().anyMatch(e -> e.tag() == RegionDirectory.TAG_INODES_OLD);
  }

  private static String modules(List<Module> modules) {
    return modules.isEmpty() ? "none"
        : modules.stream().map(m -> m.displayName() + " (" + m.abbreviation() + ")").collect(Collectors.joining(", "));
  }

  static String count(long n) {
    return Numbers.grouped(n);
  }

  private static String percent(long part, long whole) {
    return whole == 0 ? "0%" : Numbers.fixed(100.0 * part / whole, 1) + "%";
  }

  private static String orDash(String s) {
    return s == null ? "-" : s;
  }
}
