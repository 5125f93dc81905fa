package dev.vde;

/**
 * A path inside the volume does not exist, or names a file where a directory is needed ("PATH: COMPONENT is not a
 * directory": a file along the path, at the end of a path ending in '/', or listed or passed to mkdirs), or the
 * host file to open does not exist.
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
