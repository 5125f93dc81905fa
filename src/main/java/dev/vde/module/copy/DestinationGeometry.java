package dev.vde.module.copy;

import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.BlockCodec;
import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.Volume;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Where the destination's structures go: exactly where {@link Volume#plan} puts them for a new volume with the
 * source's block size, size (or a larger one), inode count and WAL size and the union of the source's and the
 * added modules, so a copy is laid out like a volume created with those modules from the start. Its inode layout is
 * the canonical one for that manifest.
 */
final class DestinationGeometry {
  private final Volume.Plan plan;
  private final int blockSize;
  private final long manifest;
  private final Set<Module> added;

  private DestinationGeometry(Volume.Plan plan, int blockSize, long manifest, Set<Module> added) {
    this.plan = plan;
    this.blockSize = blockSize;
    this.manifest = manifest;
    this.added = added;
  }

  static DestinationGeometry of(Superblock source, CopyOptions options) throws VdeInvalidArgumentException {
    int bs = source.blockSize();
    long sourceBytes = source.totalBlocks() * bs;
    long bytes = options.sizeBytes() == 0 ? sourceBytes : options.sizeBytes();
    if (bytes / bs < source.totalBlocks()) {
      throw new VdeInvalidArgumentException("destination size " + bytes + " bytes is smaller than the source's "
          + sourceBytes + " bytes; a copy keeps every block number, so it can grow the volume but not shrink it");
    }
    Set<Module> modules = EnumSet.noneOf(Module.class);
    modules.addAll(Module.fromManifest(source.moduleManifest()));
    Set<Module> added = EnumSet.noneOf(Module.class);
    for (Module m : options.modulesToAdd()) {
      if (modules.add(m)) {
        added.add(m);
      }
    }
    int inodeSize = InodeLayout.canonical(Module.manifestOf(modules)).inodeSize();
    if (inodeSize > BlockCodec.payloadSize(bs)) {
      // Volume.plan would ask for a larger block size, which is what a new volume can choose and a copy cannot.
      throw new VdeInvalidArgumentException("inodes of " + inodeSize + " bytes (with " + String.join(", ",
          modules.stream().map(Module::abbreviation).toList()) + ") do not fit in " + bs + "-byte blocks, and a "
          + "copy keeps the block size: these modules need a volume created with a larger one ('vde create "
          + "--block-size'), into which the files are copied one by one");
    }
    CreateOptions create = CreateOptions.ofSize(bytes / bs * bs)
        .blockSize(bs)
        .inodeCount(source.inodeCount())
        .walBlocks(source.walBlocks())
        .modules(modules)
        .label(copiedLabel(source));
    return new DestinationGeometry(Volume.plan(create), bs, Module.manifestOf(modules), added);
  }

  /**
   * The label the copy of {@code source} gets: the source's as shown ({@link Superblock#label}). One that is not
   * valid UTF-8 is shown with a U+FFFD (three bytes) for each malformed byte, which can take it past the 64 bytes
   * a label has; it is then cut to the whole characters that fit, rather than the copy being refused over a field
   * that locates nothing.
   */
  static String copiedLabel(Superblock source) {
    String shown = source.label();
    int bytes = 0;
    int end = 0;
    while (end < shown.length()) {
      int cp = shown.codePointAt(end);
      int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      if (bytes + n > Superblock.LABEL_BYTES) {
        break;
      }
      bytes += n;
      end += Character.charCount(cp);
    }
    return shown.substring(0, end);
  }

  /**
   * Whether two states of a source give the same geometry for the same options: they agree on everything
   * {@link #of} reads from the superblock (the inode layout follows from the manifest, and is compared too).
   */
  static boolean sameInputs(Superblock a, Superblock b) {
    return a.blockSize() == b.blockSize() && a.totalBlocks() == b.totalBlocks()
        && a.moduleManifest() == b.moduleManifest() && a.inodeCount() == b.inodeCount()
        && a.walBlocks() == b.walBlocks() && java.util.Objects.equals(a.label(), b.label())
        && a.layout().equals(b.layout());
  }

  int blockSize() {
    return blockSize;
  }

  long totalBlocks() {
    return plan.totalBlocks();
  }

  /** First block after the destination's metadata: superblocks, region directory, bitmap, WAL, inodes, regions. */
  long metadataEnd() {
    return plan.metadataEnd();
  }

  InodeLayout layout() {
    return plan.layout();
  }

  long manifest() {
    return manifest;
  }

  /** Every module of the destination. */
  Set<Module> modules() {
    Set<Module> all = EnumSet.noneOf(Module.class);
    all.addAll(Module.fromManifest(manifest));
    return all;
  }

  /** Modules the destination has that the source lacks. */
  Set<Module> addedModules() {
    return added.isEmpty() ? EnumSet.noneOf(Module.class) : EnumSet.copyOf(added);
  }

  long inodeTableStart() {
    return plan.inodeStart();
  }

  long inodeCount() {
    return plan.inodeCount();
  }

  long bitmapStart() {
    return plan.bitmapStart();
  }

  long bitmapBlocks() {
    return plan.bitmapBlocks();
  }

  int regionDirBlocks() {
    return plan.rdBlocks();
  }

  /** The region directory, in the order a newly created volume lists its regions. */
  RegionDirectory regions() {
    RegionDirectory rd = new RegionDirectory(List.of(
        new RegionDirectory.Entry(RegionDirectory.TAG_BITMAP, 0, plan.bitmapStart(), plan.bitmapBlocks()),
        new RegionDirectory.Entry(RegionDirectory.TAG_WAL, 0, plan.walStart(), plan.walBlocks()),
        new RegionDirectory.Entry(RegionDirectory.TAG_CHECKPOINT, 0, plan.checkpointStart(), 2),
        new RegionDirectory.Entry(RegionDirectory.TAG_INODES, 0, plan.inodeStart(), plan.inodeBlocks())));
    for (RegionDirectory.Entry e : plan.moduleRegions()) {
      rd = rd.with(e);
    }
    return rd;
  }

  /**
   * The destination's superblock. It keeps the source's identity (UUID, creation time, label, module
   * configuration): the copy is the same volume in a new format. Its WAL is empty (checkpoint transaction 0, a
   * fresh salt), and with {@code incomplete} it carries {@link Superblock#INCOMPAT_INCOMPLETE_COPY}, which makes
   * every open refuse it.
   */
  Superblock superblock(Superblock source, long sequence, long salt, long inodesUsed, long freeBlocks,
      long inodeTableInitBlocks, boolean incomplete) {
    InodeLayout layout = plan.layout();
    Superblock sb = new Superblock(Superblock.FORMAT_MAJOR, Superblock.FORMAT_MINOR_CURRENT, blockSize,
        layout.inodeSize(), plan.totalBlocks(), source.uuid(), source.createdMillis(), System.currentTimeMillis(),
        sequence, 0, 0, 0, 0, source.moduleConfig(), plan.inodeCount(), inodesUsed, freeBlocks, 2, plan.rdBlocks(),
        plan.walStart(), plan.walBlocks(), 0, salt, inodeTableInitBlocks, copiedLabel(source), layout)
        .withManifest(manifest, layout);
    // Chains of inodes that keep their blocks are copied as they are, loose blocks included.
    sb = sb.withIncompat(sb.incompat() | source.incompat() & Superblock.INCOMPAT_LOOSE_EXTENT_CHAINS);
    return incomplete ? sb.withIncompat(sb.incompat() | Superblock.INCOMPAT_INCOMPLETE_COPY) : sb;
  }
}
