package dev.vde.format;

import dev.vde.VdeInvalidArgumentException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The module registry: every optional format feature, with the inode bytes it adds and the regions it needs.
 * The module id is the bit position in the superblock's module manifest and is never reused.
 *
 * <p>Each module declares its feature-compatibility class, as ext4 features do: {@code COMPAT} (an engine that
 * does not know it may read and write; it preserves the module's inode bytes), {@code RO_COMPAT} (it may read
 * but must not write, since it would not keep the module's structures current), {@code INCOMPAT} (it must not
 * even read, since data means something else with the module active).
 */
public enum Module {
  SECURITY(0, "Security", "SEC", 24, FeatureClass.INCOMPAT,
      Region.small("PVLT", "PolicyVault"), Region.small("ENCH", "EncryptionHeader")),
  COMPLIANCE(1, "Compliance", "CMPL", 12, FeatureClass.RO_COMPAT,
      Region.small("CVLT", "ComplianceVault"), Region.large("CAUD", "ComplianceAuditLog")),
  INTELLIGENCE(2, "Intelligence", "INTL", 12, FeatureClass.COMPAT, Region.large("ICCH", "IntelligenceCache")),
  TAGS(3, "Tags", "TAGS", 136, FeatureClass.COMPAT, Region.large("TIDX", "TagIndexRegion")),
  REPLICATION(4, "Replication", "REPL", 8, FeatureClass.RO_COMPAT, Region.small("REPS", "ReplicationState")),
  RAID(5, "RAID", "RAID", 4, FeatureClass.RO_COMPAT, Region.small("RAID", "RAIDMetadata")),
  STREAMING(6, "Streaming", "STRM", 8, FeatureClass.INCOMPAT,
      Region.large("SAPP", "StreamingAppend"), Region.large("DWAL", "DataWAL")),
  COMPUTE(7, "Compute", "COMP", 0, FeatureClass.COMPAT, Region.large("CCCH", "ComputeCodeCache")),
  FABRIC(8, "Fabric", "FABR", 0, FeatureClass.RO_COMPAT, Region.small("XVRT", "CrossVDEReferenceTable")),
  CONSENSUS(9, "Consensus", "CNSS", 0, FeatureClass.RO_COMPAT, Region.large("CLOG", "ConsensusLogRegion")),
  COMPRESSION(10, "Compression", "CMPR", 4, FeatureClass.INCOMPAT, Region.small("DICT", "DictionaryRegion")),
  INTEGRITY(11, "Integrity", "INTG", 0, FeatureClass.RO_COMPAT, Region.large("ITRE", "IntegrityTree")),
  SNAPSHOT(12, "Snapshot", "SNAP", 0, FeatureClass.RO_COMPAT, Region.small("SNPT", "SnapshotTable")),
  QUERY(13, "Query", "QURY", 4, FeatureClass.RO_COMPAT, Region.large("BTIF", "BTreeIndexForest")),
  PRIVACY(14, "Privacy", "PRIV", 2, FeatureClass.COMPAT, Region.small("ANON", "AnonymizationTable")),
  SUSTAINABILITY(15, "Sustainability", "SUST", 4, FeatureClass.COMPAT),
  TRANSIT(16, "Transit", "TRNS", 1, FeatureClass.COMPAT),
  OBSERVABILITY(17, "Observability", "OBSV", 0, FeatureClass.COMPAT, Region.large("MLOG", "MetricsLogRegion")),
  AUDIT_LOG(18, "AuditLog", "ALOG", 0, FeatureClass.RO_COMPAT, Region.large("ALOG", "AuditLogRegion"));

  /** Feature class of a module; see the enum javadoc. */
  public enum FeatureClass { COMPAT, RO_COMPAT, INCOMPAT }

  /**
   * A region a module needs. Sizing: small regions take max(64, total/1024) blocks, large ones
   * max(256, total/256), and never more than total/16.
   */
  public record Region(String tag, String name, boolean large) {
    static Region small(String tag, String name) {
      return new Region(tag, name, false);
    }

    static Region large(String tag, String name) {
      return new Region(tag, name, true);
    }

    /** Blocks this region takes on a volume of {@code totalBlocks} blocks. */
    public long blocksFor(long totalBlocks) {
      long want = large ? Math.max(256, totalBlocks / 256) : Math.max(64, totalBlocks / 1024);
      return Math.max(1, Math.min(want, totalBlocks / 16));
    }

    public int tagValue() {
      return BlockType.tagOf(tag);
    }
  }

  private final int id;
  private final String displayName;
  private final String abbreviation;
  private final int inodeBytes;
  private final FeatureClass featureClass;
  private final List<Region> regions;

  Module(int id, String displayName, String abbreviation, int inodeBytes, FeatureClass fc, Region... regions) {
    this.id = id;
    this.displayName = displayName;
    this.abbreviation = abbreviation;
    this.inodeBytes = inodeBytes;
    this.featureClass = fc;
    this.regions = List.of(regions);
  }

  public int id() {
    return id;
  }

  public String displayName() {
    return displayName;
  }

  public String abbreviation() {
    return abbreviation;
  }

  /** Bytes this module adds to every inode (0 for region-only modules). */
  public int inodeBytes() {
    return inodeBytes;
  }

  public FeatureClass featureClass() {
    return featureClass;
  }

  public List<Region> regions() {
    return regions;
  }

  /** This module's bit in the manifest. */
  public long bit() {
    return 1L << id;
  }

  /** The feature bit this module sets in its class's mask: bit 32 + id. */
  public long featureBit() {
    return 1L << (32 + id);
  }

  public static Module byId(int id) {
    for (Module m : values()) {
      if (m.id == id) {
        return m;
      }
    }
    return null;
  }

  /** Looks a module up by name or abbreviation, in any case. */
  public static Module parse(String text) throws VdeInvalidArgumentException {
    String t = text.trim().toUpperCase(Locale.ROOT);
    for (Module m : values()) {
      if (m.abbreviation.equals(t) || m.displayName.toUpperCase(Locale.ROOT).equals(t)
          || m.name().equals(t)) {
        return m;
      }
    }
    throw new VdeInvalidArgumentException("unknown module '" + text + "'; valid modules: " + validList());
  }

  /** "Security (SEC), Compliance (CMPL), ..." for error messages. */
  public static String validList() {
    return Arrays.stream(values()).map(m -> m.displayName + " (" + m.abbreviation + ")")
        .collect(Collectors.joining(", "));
  }

  /** Modules present in a manifest, in id order. */
  public static List<Module> fromManifest(long manifest) {
    List<Module> out = new ArrayList<>();
    for (Module m : values()) {
      if ((manifest & m.bit()) != 0) {
        out.add(m);
      }
    }
    return out;
  }

  /** Manifest bits that name no known module. */
  public static long unknownBits(long manifest) {
    long known = 0;
    for (Module m : values()) {
      known |= m.bit();
    }
    return manifest & ~known;
  }

  public static long manifestOf(Iterable<Module> modules) {
    long m = 0;
    for (Module x : modules) {
      m |= x.bit();
    }
    return m;
  }
}
