package dev.vde;

/** The image was written by a format version this engine no longer reads. */
public class VdeFormatTooOldException extends VdeException {
  private static final long serialVersionUID = 1L;

  public VdeFormatTooOldException(String message, String resource) {
    super(message, resource, null);
  }
}
