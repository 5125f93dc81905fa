package dev.vde;

/** The host file is already open by another engine instance, in this process or another one. */
public class VdeLockedException extends VdeException {
  private static final long serialVersionUID = 1L;

  public VdeLockedException(String resource) {
    super("volume is already open elsewhere (another process or another VirtualDisk holds its lock); close it first",
        resource, null);
  }
}
