package dev.vde;

/** Not enough free blocks or inodes; raised before anything is written. */
public class VdeNoSpaceException extends VdeException {
  private static final long serialVersionUID = 1L;

  public VdeNoSpaceException(String message) {
    super(message);
  }
}
