package dev.vde;

/**
 * Receives progress of a long operation. Called from the working thread; implementations must be quick.
 * {@code total} is -1 when unknown. An operation that holds a volume's state still while it reports (verify, a
 * copy's final pass) refuses a change or close of that volume from its callback with
 * {@link VdeInvalidArgumentException}: it would wait for the operation, which waits for the callback.
 */
@FunctionalInterface
public interface Progress {
  Progress NONE = (phase, done, total, unit) -> {};

  void update(String phase, long done, long total, String unit);
}
