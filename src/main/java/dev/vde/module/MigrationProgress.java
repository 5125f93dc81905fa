package dev.vde.module;

import dev.vde.format.MigrationCheckpoint;

/**
 * A progress report of an inode migration. Within one run no value steps back: the total (the initialized part
 * of the old table) only grows, as foreground creations extend that part while the copy runs, and migrated only
 * grows.
 *
 * @param percent the highest of {@code 100 × migrated / total} over this run's reports so far: when the total
 *     grows faster than the copy, the percent holds where it was until the copy catches up, rather than falling
 * @param etaSeconds estimated seconds left, or -1 until about 1% is done
 */
public record MigrationProgress(MigrationCheckpoint.Phase phase, long total, long migrated, double percent,
    double inodesPerSecond, double etaSeconds) {

  /**
   * Receives progress reports; called from the migrating thread. {@link #onProgress} follows every batch copied
   * (and the swap and the completion), so a listener can interleave its own work with the copy's; {@link #onStart}
   * comes once before, with the state a start or resume begins from.
   */
  @FunctionalInterface
  public interface Listener {
    Listener NONE = p -> {};

    void onProgress(MigrationProgress p);

    /**
     * The state this run begins from, before it copies anything: nothing migrated for a start, the last
     * checkpoint for a resume. A display wants it, as its first state (and as the point its rate is measured
     * from); a listener that acts on copied batches ignores it, which is the default.
     */
    default void onStart(MigrationProgress p) {}
  }
}
