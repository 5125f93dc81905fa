package dev.vde;

/** A path inside the volume does not exist (or a parent of it is not a directory). */
public class VdeNotFoundException extends VdeException {
  private static final long serialVersionUID = 1L;

  public VdeNotFoundException(String message) {
    super(message);
  }
}
