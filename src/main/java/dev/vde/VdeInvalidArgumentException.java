package dev.vde;

/**
 * A request the engine refuses before writing anything: a malformed path, a name that is too long, an
 * existing target, a directory that is not empty, an operation on the wrong file type.
 */
public class VdeInvalidArgumentException extends VdeException {
  private static final long serialVersionUID = 1L;

  public VdeInvalidArgumentException(String message) {
    super(message);
  }

  /** A refusal that concerns a whole image ({@code resource}), which the message then names. */
  public VdeInvalidArgumentException(String message, String resource) {
    super(message, resource, null);
  }
}
