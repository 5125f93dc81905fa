package dev.vde.module.copy;

import dev.vde.Progress;
import dev.vde.format.Module;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * Options for {@link ExtentAwareCopy}. Defaults: no modules added, the destination as large as the source, refuse
 * an existing destination, no I/O limit, no verification, no progress, never cancelled, a pre-copy when the source
 * is writable.
 */
public final class CopyOptions {
  private final Set<Module> modulesToAdd = EnumSet.noneOf(Module.class);
  private boolean force;
  private long maxIops;
  private boolean verify;
  private long sizeBytes;
  private Progress progress = Progress.NONE;
  private BooleanSupplier cancelled = () -> false;
  private boolean preCopy = true;

  public static CopyOptions defaults() {
    return new CopyOptions();
  }

  /**
   * A new set of options equal to this one: the options are a mutable builder, and code that adds to a caller's
   * options (modules, say) works on a copy, so that the caller's next use of them is not changed.
   */
  public CopyOptions copy() {
    CopyOptions c = new CopyOptions();
    c.modulesToAdd.addAll(modulesToAdd);
    c.force = force;
    c.maxIops = maxIops;
    c.verify = verify;
    c.sizeBytes = sizeBytes;
    c.progress = progress;
    c.cancelled = cancelled;
    c.preCopy = preCopy;
    return c;
  }

  /**
   * Modules the destination has in addition to the source's (replacing those set before).
   *
   * @throws NullPointerException if {@code modules} is null or holds a null; the options are then unchanged
   */
  public CopyOptions modulesToAdd(Set<Module> modules) {
    // Checked before the clear: a set with a null in it failed inside EnumSet with a bare NullPointerException,
    // after the modules set before were already gone.
    Objects.requireNonNull(modules, "modules");
    for (Module m : modules) {
      Objects.requireNonNull(m, "modules holds a null module");
    }
    modulesToAdd.clear();
    modulesToAdd.addAll(modules);
    return this;
  }

  /** @throws NullPointerException if {@code m} is null */
  public CopyOptions addModule(Module m) {
    modulesToAdd.add(Objects.requireNonNull(m, "module"));
    return this;
  }

  /** Replace an existing destination file (never the source itself). */
  public CopyOptions force(boolean f) {
    this.force = f;
    return this;
  }

  /**
   * Most block reads plus writes per second the copy may issue; 0 means unlimited. After a pre-copy, the final pass
   * that holds the source's writers off is not limited, so that the limit does not lengthen their wait.
   *
   * @throws IllegalArgumentException if {@code iops} is negative
   */
  public CopyOptions maxIops(long iops) {
    if (iops < 0) {
      throw new IllegalArgumentException("IOPS limit must be 0 (unlimited) or more, got " + iops);
    }
    this.maxIops = iops;
    return this;
  }

  /** Re-read the destination when done: every block trailer, the verifier, every file against the source. */
  public CopyOptions verify(boolean v) {
    this.verify = v;
    return this;
  }

  /** Size of the destination volume in bytes; 0 keeps the source's size. It may grow, never shrink. */
  public CopyOptions sizeBytes(long bytes) {
    this.sizeBytes = bytes;
    return this;
  }

  public CopyOptions progress(Progress p) {
    this.progress = p == null ? Progress.NONE : p;
    return this;
  }

  /** Polled between transfers; when it returns true the copy stops and removes the partial destination. */
  public CopyOptions cancellation(BooleanSupplier c) {
    this.cancelled = c == null ? () -> false : c;
    return this;
  }

  /**
   * Copy the data once while the source's writers run, and hold them off only for a final pass that re-reads the
   * inodes and copies what changed (on by default; it only applies to a writable source, since nothing else can
   * write a read-only one). Off: writers are held off while the whole source is read. A tool that has the volume
   * to itself can turn it off to save the second inode scan.
   */
  public CopyOptions preCopy(boolean p) {
    this.preCopy = p;
    return this;
  }

  public boolean preCopy() {
    return preCopy;
  }

  public Set<Module> modulesToAdd() {
    return modulesToAdd.isEmpty() ? EnumSet.noneOf(Module.class) : EnumSet.copyOf(modulesToAdd);
  }

  public boolean force() {
    return force;
  }

  public long maxIops() {
    return maxIops;
  }

  public boolean verify() {
    return verify;
  }

  public long sizeBytes() {
    return sizeBytes;
  }

  public Progress progress() {
    return progress;
  }

  public BooleanSupplier cancellation() {
    return cancelled;
  }
}
