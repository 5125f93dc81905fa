package dev.vde.fs;

/** Options for {@link VirtualDisk#open}. */
public final class OpenOptions {
  private boolean readOnly;

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
}
