package dev.vde.module;

/**
 * Options of an inode migration. Defaults: checkpoint every 10,000 inodes, no IOPS limit, yielding to the
 * foreground (see {@link MigrationControl#setYieldToForeground}), no progress listener, a fresh control.
 *
 * <p>Why 10,000: every checkpoint syncs the new-table blocks copied since the last one and then writes and syncs
 * its record, so each costs a device round trip whatever its size. Measured (docs/BENCHMARKS.md, migration
 * section), an interval of 1,000 made a 1,000,000-inode migration take about 2.4 times the plain read-and-write
 * floor, while 10,000 keeps it under 2 times; a crash then redoes at most 10,000 inodes, about 4 MiB of new
 * table, a few milliseconds of work.
 */
public final class MigrationOptions {
  public static final int DEFAULT_CHECKPOINT_EVERY = 10_000;

  private int checkpointEvery = DEFAULT_CHECKPOINT_EVERY;
  private MigrationControl control = new MigrationControl(0, true);
  private MigrationProgress.Listener listener = MigrationProgress.Listener.NONE;

  public static MigrationOptions defaults() {
    return new MigrationOptions();
  }

  /**
   * Inodes between two durable checkpoints; at most this many are copied again after a crash.
   *
   * @throws IllegalArgumentException if {@code n} is below 1
   */
  public MigrationOptions checkpointEvery(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("checkpoint interval must be >= 1, got " + n);
    }
    this.checkpointEvery = n;
    return this;
  }

  /** The live controls the migration obeys (throttle, pause, cancel); a fresh one by default. */
  public MigrationOptions control(MigrationControl c) {
    this.control = java.util.Objects.requireNonNull(c, "control");
    return this;
  }

  /**
   * Sets the IOPS limit (0 = unlimited) on the control these options hold now: call it after {@link #control},
   * or set the limit on that control directly, since a later {@code control(c)} replaces the control and its limit.
   *
   * @throws IllegalArgumentException if {@code iops} is negative
   */
  public MigrationOptions maxIops(long iops) {
    control.setMaxIops(iops);
    return this;
  }

  public MigrationOptions listener(MigrationProgress.Listener l) {
    this.listener = l;
    return this;
  }

  public int checkpointEvery() {
    return checkpointEvery;
  }

  public MigrationControl control() {
    return control;
  }

  public MigrationProgress.Listener listener() {
    return listener;
  }
}
