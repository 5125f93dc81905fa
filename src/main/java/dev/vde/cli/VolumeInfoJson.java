package dev.vde.cli;

import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.fs.VolumeInfo;
import java.util.List;

/**
 * The shape of {@code vde info --json}. Component order is key order. {@code migration} is null while no
 * online format migration is running.
 */
record VolumeInfoJson(
    String path,
    String formatVersion,
    String label,
    String uuid,
    int blockSize,
    long totalBlocks,
    long freeBlocks,
    int inodeSize,
    long inodeCount,
    long inodesUsed,
    int paddingBytes,
    List<String> modules,
    List<Region> regions,
    Migration migration,
    String readOnlyReason,
    List<String> warnings,
    String created,
    String modified,
    long sequence) {

  /** One region of the layout; type is its 4-character tag. */
  record Region(String type, long start, long blocks) {}

  /** Progress of an online format migration. */
  record Migration(String phase, long migrated, long total) {}

  static VolumeInfoJson of(VolumeInfo info) {
    return new VolumeInfoJson(
        info.path(),
        info.formatMajor() + "." + info.formatMinor(),
        info.label(),
        info.uuid() == null ? null : info.uuid().toString(),
        info.blockSize(),
        info.totalBlocks(),
        info.freeBlocks(),
        info.inodeSize(),
        info.inodeCount(),
        info.inodesUsed(),
        info.paddingBytes(),
        info.modules().stream().map(Module::abbreviation).toList(),
        info.regions().stream().map(VolumeInfoJson::region).toList(),
        migration(info.migration()),
        info.readOnlyReason(),
        List.copyOf(info.warnings()),
        Times.iso(info.created()),
        Times.iso(info.modified()),
        info.sequence());
  }

  static Migration migration(VolumeInfo.Migration m) {
    return m == null ? null : new Migration(m.phase(), m.migrated(), m.total());
  }

  private static Region region(RegionDirectory.Entry e) {
    return new Region(e.tagText(), e.start(), e.blocks());
  }
}
