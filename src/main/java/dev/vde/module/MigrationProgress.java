package dev.vde.module;

import dev.vde.format.MigrationCheckpoint;

/**
 * A progress report of an inode migration.
 *
 * @param etaSeconds estimated seconds left, or -1 until about 1% is done
 */
public record MigrationProgress(MigrationCheckpoint.Phase phase, long total, long migrated, double percent,
    double inodesPerSecond, double etaSeconds) {

  /** Receives progress reports; called from the migrating thread. */
  @FunctionalInterface
  public interface Listener {
    Listener NONE = p -> {};

    void onProgress(MigrationProgress p);
  }
}
