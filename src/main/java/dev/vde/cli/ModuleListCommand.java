package dev.vde.cli;

import dev.vde.format.InodeLayout;
import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.Module;
import dev.vde.format.Superblock;
import dev.vde.fs.VirtualDisk;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vde module list}: every module, active or not, with what it needs. */
@Command(name = "list", mixinStandardHelpOptions = true,
    description = {"List every module: active or not, inode bytes, regions, and whether its inode fields fit in "
        + "the current inode padding.",
        "A module that a pending inode migration is adding shows as 'migrating': it becomes active when the "
            + "migration completes ('vde migrate resume'), and a rollback removes it."})
final class ModuleListCommand extends ImageCommand {
  @Option(names = "--json", description = "Print {inodeSize, paddingBytes, modules: [{id, name, abbreviation, "
      + "active, beingAdded, inodeBytes, regions, fitsInPadding, featureClass}]}; beingAdded is true for the "
      + "modules a pending migration adds.")
  boolean json;

  /** One row; also the JSON shape. */
  record Row(int id, String name, String abbreviation, boolean active, boolean beingAdded, int inodeBytes,
      List<String> regions, boolean fitsInPadding, String featureClass) {}

  /** The JSON document. */
  record Listing(int inodeSize, int paddingBytes, List<Row> modules) {}

  @Override
  public Integer call() throws Exception {
    Listing listing;
    try (VirtualDisk disk = openReadOnly()) {
      Superblock sb = disk.volume().superblock();
      InodeLayout layout = sb.layout();
      List<Row> rows = new ArrayList<>();
      // Its regions exist from the start, but the module is active only from the swap on; without this the list
      // showed it as not active though 'module add' refuses it as being added. An unreadable record names none.
      MigrationCheckpoint pending = disk.volume().pendingMigration();
      long adding = pending == null ? 0 : pending.targetModules();
      for (Module m : Module.values()) {
        boolean active = (sb.moduleManifest() & m.bit()) != 0;
        boolean beingAdded = !active && (adding & m.bit()) != 0;
        rows.add(new Row(m.id(), m.displayName(), m.abbreviation(), active, beingAdded, m.inodeBytes(),
            m.regions().stream().map(Module.Region::name).toList(),
            !active && !beingAdded && m.inodeBytes() > 0 && layout.canClaim(m), m.featureClass().name()));
      }
      listing = new Listing(sb.inodeSize(), layout.paddingBytes(), rows);
    }
    if (json) {
      out().println(Json.pretty(listing));
      return ExitCodes.OK;
    }
    TextTable t = new TextTable(false, false, false, true, false, false).row("MODULE", "ABBR", "ACTIVE",
        "INODE BYTES", "FITS PADDING", "REGIONS");
    for (Row r : listing.modules()) {
      t.row(r.name(), r.abbreviation(), r.active() ? "yes" : r.beingAdded() ? "migrating" : "no",
          Integer.toString(r.inodeBytes()),
          r.active() || r.beingAdded() || r.inodeBytes() == 0 ? "-" : r.fitsInPadding() ? "yes" : "no",
          r.regions().isEmpty() ? "-" : String.join(", ", r.regions()));
    }
    t.lines("").forEach(out()::println);
    out().println();
    out().println("Inodes are " + listing.inodeSize() + " bytes with " + listing.paddingBytes()
        + " bytes of padding free.");
    return ExitCodes.OK;
  }
}
