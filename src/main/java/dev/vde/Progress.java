package dev.vde;

/**
 * Receives progress of a long operation. Called from the working thread; implementations must be quick.
 * {@code total} is -1 when unknown.
 */
@FunctionalInterface
public interface Progress {
  Progress NONE = (phase, done, total, unit) -> {};

  void update(String phase, long done, long total, String unit);
}
