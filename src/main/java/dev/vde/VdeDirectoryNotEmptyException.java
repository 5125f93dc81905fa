package dev.vde;

/** A directory that is to be deleted, or replaced, still has entries. */
public class VdeDirectoryNotEmptyException extends VdeInvalidArgumentException {
  private static final long serialVersionUID = 1L;

  public VdeDirectoryNotEmptyException(String message) {
    super(message);
  }
}
