package dev.vde;

/**
 * A path inside the volume does not exist (or a parent of it is not a directory), or the host file to open does
 * not exist.
 */
public class VdeNotFoundException extends VdeException {
  private static final long serialVersionUID = 1L;

  public VdeNotFoundException(String message) {
    super(message);
  }

  /** Something outside any volume is missing: {@code resource} names it (a host file). */
  public VdeNotFoundException(String message, String resource) {
    super(message, resource, null);
  }
}
