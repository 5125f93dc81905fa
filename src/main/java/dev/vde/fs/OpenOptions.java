package dev.vde.fs;

/** Options for {@link VirtualDisk#open}. */
public final class OpenOptions {
  private boolean readOnly;
  private boolean requireWritable;

  public static OpenOptions defaults() {
    return new OpenOptions();
  }

  public static OpenOptions readOnlyOptions() {
    return new OpenOptions().readOnly(true);
  }

  /** Open without writing anything, not even recovery: WAL replay happens in memory only. */
  public OpenOptions readOnly(boolean ro) {
    this.readOnly = ro;
    return this;
  }

  public boolean readOnly() {
    return readOnly;
  }

  /**
   * Fail the open with {@link dev.vde.VdeReadOnlyException} (saying why) instead of opening read-only when the
   * volume cannot be written: an unwritable host file, features this engine cannot keep up to date, damaged
   * acknowledged WAL transactions. Off by default, when {@link VirtualDisk#isReadOnly} tells afterwards.
   */
  public OpenOptions requireWritable(boolean on) {
    this.requireWritable = on;
    return this;
  }

  public boolean requireWritable() {
    return requireWritable;
  }
}
