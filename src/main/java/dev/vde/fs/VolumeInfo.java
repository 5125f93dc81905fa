package dev.vde.fs;

import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import java.util.List;
import java.util.UUID;

/**
 * A snapshot of a volume's vital figures, as {@code vde info} shows them.
 *
 * @param readOnlyReason why the volume is open read-only, or null when it is writable
 * @param warnings conditions found at open that an operator should know (a damaged superblock copy, WAL
 *     transactions replayed)
 * @param migration the pending inode migration, or null when none is pending
 */
public record VolumeInfo(
    String path,
    int formatMajor,
    int formatMinor,
    int blockSize,
    long totalBlocks,
    long freeBlocks,
    int inodeSize,
    long inodeCount,
    long inodesUsed,
    List<Module> modules,
    List<RegionDirectory.Entry> regions,
    UUID uuid,
    String label,
    long created,
    long modified,
    long sequence,
    int paddingBytes,
    String readOnlyReason,
    List<String> warnings,
    Migration migration) {

  /**
   * A pending inode migration as its last checkpoint describes it; phase is "UNKNOWN" (and the counts 0) when the
   * checkpoint cannot be read.
   */
  public record Migration(String phase, long migrated, long total, List<Module> adding) {
    public Migration {
      adding = List.copyOf(java.util.Objects.requireNonNull(adding, "adding"));
    }
  }

  public VolumeInfo {
    modules = List.copyOf(java.util.Objects.requireNonNull(modules, "modules"));
    regions = List.copyOf(java.util.Objects.requireNonNull(regions, "regions"));
    warnings = List.copyOf(java.util.Objects.requireNonNull(warnings, "warnings"));
  }
}
