package dev.vde.cli;

import dev.vde.check.Problem;
import dev.vde.check.VerifyReport;
import java.util.ArrayList;
import java.util.List;

/**
 * The shape of {@code vde fsck --json}: {@code clean}, the {@code problems} as {block, structure, message}
 * (block null when no single block is concerned) and how much was checked.
 */
record FsckReport(boolean clean, List<Item> problems, long blocksChecked, long inodesChecked, long filesChecked) {

  /** One problem found. */
  record Item(Long block, String structure, String message) {
    /**
     * The text line. Messages quote names read from a damaged volume, which may hold any byte: control characters
     * are escaped as in listings, so that a problem stays one line and nothing reaches the terminal as a command.
     */
    @Override
    public String toString() {
      return Printable.of(block == null ? structure + ": " + message
          : "block " + VolumeInfoText.count(block) + " (" + structure + "): " + message);
    }
  }

  static FsckReport of(VerifyReport report) {
    List<Item> items = new ArrayList<>();
    for (Problem p : report.problems()) {
      items.add(new Item(p.blockNo() < 0 ? null : p.blockNo(), p.structure(), p.message()));
    }
    return new FsckReport(items.isEmpty(), items, report.blocksChecked(), report.inodesChecked(),
        report.filesChecked());
  }

  List<String> lines() {
    List<String> out = new ArrayList<>();
    problems.forEach(p -> out.add(p.toString()));
    String checked = counted(blocksChecked, "block") + ", " + counted(inodesChecked, "inode") + " and "
        + counted(filesChecked, "file") + " checked";
    out.add(clean ? "clean: " + checked : counted(problems.size(), "problem") + " found; " + checked);
    return out;
  }

  private static String counted(long n, String noun) {
    return VolumeInfoText.count(n) + " " + noun + (n == 1 ? "" : "s");
  }
}
