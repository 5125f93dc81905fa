package dev.vde;

/** The image needs a newer engine: a larger major version, or an unknown incompatible feature. */
public class VdeFormatTooNewException extends VdeException {
  private static final long serialVersionUID = 1L;

  public VdeFormatTooNewException(String message, String resource) {
    super(message, resource, null);
  }
}
