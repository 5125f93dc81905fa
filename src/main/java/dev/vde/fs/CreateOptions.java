package dev.vde.fs;

import dev.vde.format.Module;
import java.util.EnumSet;
import java.util.Set;

/**
 * Options for {@link VirtualDisk#create}. Defaults: 4096-byte blocks, one inode per 16 KiB of volume (at least
 * 64), metadata WAL of total/32 blocks clamped to [64, 8192], no modules, empty label.
 */
public final class CreateOptions {
  private long sizeBytes;
  private int blockSize = 4096;
  private long inodeCount;
  private long walBlocks;
  private final Set<Module> modules = EnumSet.noneOf(Module.class);
  private String label = "";
  private boolean preallocate;

  public static CreateOptions ofSize(long sizeBytes) {
    CreateOptions o = new CreateOptions();
    o.sizeBytes = sizeBytes;
    return o;
  }

  public CreateOptions blockSize(int bs) {
    this.blockSize = bs;
    return this;
  }

  /** Number of inodes, including the unused inode 0; 0 picks the default. Create refuses 1 or a negative count. */
  public CreateOptions inodeCount(long n) {
    this.inodeCount = n;
    return this;
  }

  /**
   * Metadata WAL size in blocks; 0 picks the default. Create refuses a size from 1 to 7 (the format's minimum is
   * 8), a negative one, or one larger than the volume.
   */
  public CreateOptions walBlocks(long n) {
    this.walBlocks = n;
    return this;
  }

  public CreateOptions modules(Set<Module> ms) {
    java.util.Objects.requireNonNull(ms, "modules");
    modules.clear();
    modules.addAll(ms);
    return this;
  }

  public CreateOptions module(Module m) {
    java.util.Objects.requireNonNull(m, "module");
    modules.add(m);
    return this;
  }

  /**
   * The volume's label: at most 64 bytes of UTF-8, valid Unicode without NUL (create refuses others); null is the
   * empty label.
   */
  public CreateOptions label(String l) {
    this.label = l == null ? "" : l;
    return this;
  }

  /**
   * Writes zeros over the whole volume when it is created, so that the host file has no holes (like
   * {@code qemu-img create -o preallocation=full}). Later writes then overwrite host blocks that already exist,
   * and a sync does not also have to commit the host file system's allocation of them: on ext4 this makes
   * small durable writes markedly cheaper (see docs/BENCHMARKS.md). It costs one write of the whole size at
   * create and the full size on the host from the start. Off by default: volumes are sparse.
   */
  public CreateOptions preallocate(boolean on) {
    this.preallocate = on;
    return this;
  }

  public boolean preallocate() {
    return preallocate;
  }

  public long sizeBytes() {
    return sizeBytes;
  }

  public int blockSize() {
    return blockSize;
  }

  public long inodeCount() {
    return inodeCount;
  }

  public long walBlocks() {
    return walBlocks;
  }

  public Set<Module> modules() {
    return EnumSet.copyOf(modules.isEmpty() ? EnumSet.noneOf(Module.class) : modules);
  }

  public String label() {
    return label;
  }
}
