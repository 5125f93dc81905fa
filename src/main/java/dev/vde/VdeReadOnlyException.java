package dev.vde;

/** A write was attempted on a volume opened read-only, or one that can only be opened read-only. */
public class VdeReadOnlyException extends VdeException {
  private static final long serialVersionUID = 1L;

  public VdeReadOnlyException(String message, String resource) {
    super(message, resource, null);
  }
}
