package dev.vde.module.copy;

import dev.vde.VdeException;

/** The copy was cancelled through {@link CopyOptions#cancellation}; the partial destination is gone. */
public final class CopyCancelledException extends VdeException {
  private static final long serialVersionUID = 1L;

  public CopyCancelledException(String message, String resource) {
    super(message, resource, null);
  }
}
