package dev.vde;

import java.io.IOException;

/**
 * Root of vde's own exceptions. Every failure the engine reports on purpose is one of these, so callers
 * can tell "vde refused or found damage" from a bug (a raw JDK runtime exception).
 *
 * <p>It is an {@link IOException} because every operation that can raise it touches the host file.
 */
public class VdeException extends IOException {
  private static final long serialVersionUID = 1L;

  private final String resource;
  private final String originalMessage;

  public VdeException(String message) {
    this(message, null, null);
  }

  public VdeException(String message, Throwable cause) {
    this(message, null, cause);
  }

  public VdeException(String message, String resource, Throwable cause) {
    super(resource == null ? message : message + " (" + resource + ")");
    if (cause != null) {
      initCause(cause);
    }
    this.resource = resource;
    this.originalMessage = message;
  }

  /** The host file (or other resource) concerned, or null when none applies. */
  public String getResourceDescription() {
    return resource;
  }

  /** The message without the resource suffix. */
  public String getOriginalMessage() {
    return originalMessage;
  }
}
