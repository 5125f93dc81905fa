package dev.vde.module;

import java.time.Duration;

/**
 * Options of an inode migration. Defaults: a checkpoint interval of 100,000 inodes (a record at least every 33,333,
 * so a crash redoes at most 100,000) and a durable record at least once a second, no IOPS limit, yielding to the
 * foreground (see {@link MigrationControl#setYieldToForeground}), no progress listener, a fresh control.
 *
 * <p>How the interval is kept: the copy takes a position every third of it; at each it waits for the sync
 * started at the one before, writes the record of that one (its blocks are durable now), and starts a sync that
 * makes the new blocks and that record durable on a thread of its own while the copy goes on. A record is thus
 * durable two positions after the watermark it counts, and a crash redoes at most three thirds, the interval.
 * (Below 3 there is no third: each record is synced before the copy goes on.) Between two thirds the copy also
 * takes a position whenever the sync before has returned and 8 MiB of new table (or half a third) were copied since
 * the last one: then taking it costs no wait. So while the device keeps up, records come every 8 MiB whatever the
 * interval, and the interval bounds only how far the copy may run ahead of a slower device.
 *
 * <p>Why 100,000 inodes: each sync makes the host file system write (and on a sparse host file allocate and
 * journal) the blocks copied since the one before; overlapped with the copy, syncs cost little, but many small
 * ones still cost more than a few large ones, and at each third the copy waits for the sync in flight
 * (docs/BENCHMARKS.md, migration section, has the measured effect of the interval). A larger interval was measured
 * and not taken: in the suite it did not make the default run faster, and the foreground kept less of its idle
 * throughput beside it (51% at worst, against 58% and 61%). A crash redoes at most 100,000 inodes: about 43 MiB of
 * new table, a tenth of a second of copying at full speed.
 *
 * <p>Why also once a second: a throttled or yielding migration copies slowly, and an interval counted only in
 * inodes would let a crash cost minutes of it and leave {@code vde migrate status} (which reads the newest record
 * from another process) stuck on one figure. The time rule only adds positions, and its records are
 * synced before the copy goes on, so the bound in inodes holds whatever the time.
 */
public final class MigrationOptions {
  public static final int DEFAULT_CHECKPOINT_EVERY = 100_000;
  /** Default longest time between two checkpoints while inodes are being copied. */
  public static final Duration DEFAULT_MAX_TIME_BETWEEN_CHECKPOINTS = Duration.ofSeconds(1);

  private int checkpointEvery = DEFAULT_CHECKPOINT_EVERY;
  private Duration maxTimeBetweenCheckpoints = DEFAULT_MAX_TIME_BETWEEN_CHECKPOINTS;
  private MigrationControl control = new MigrationControl(0, true);
  private MigrationProgress.Listener listener = MigrationProgress.Listener.NONE;

  public static MigrationOptions defaults() {
    return new MigrationOptions();
  }

  /**
   * The checkpoint interval: at most this many inodes are copied again after a crash. Records are written every
   * third of it (every {@code n} inodes below 3), each durable before the next is written.
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

  /**
   * Also checkpoints at the end of the first batch that finishes this long after the last checkpoint (by count or
   * by time), however few inodes it copied, with a record that is durable at once rather than after the next sync;
   * null checkpoints by inode count only.
   *
   * @throws IllegalArgumentException if {@code d} is zero or negative
   */
  public MigrationOptions maxTimeBetweenCheckpoints(Duration d) {
    if (d != null && (d.isZero() || d.isNegative())) {
      throw new IllegalArgumentException("time between checkpoints must be positive, got " + d);
    }
    this.maxTimeBetweenCheckpoints = d;
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

  /** Receives progress reports; null means none, as {@code CopyOptions.progress(null)} does. */
  public MigrationOptions listener(MigrationProgress.Listener l) {
    // Stored as given, a null surfaced as a NullPointerException from the first report, mid-migration.
    this.listener = l == null ? MigrationProgress.Listener.NONE : l;
    return this;
  }

  public int checkpointEvery() {
    return checkpointEvery;
  }

  /** Longest time between checkpoints while copying, or null when only the inode count decides. */
  public Duration maxTimeBetweenCheckpoints() {
    return maxTimeBetweenCheckpoints;
  }

  /** {@link #maxTimeBetweenCheckpoints()} in nanoseconds; {@link Long#MAX_VALUE} when off or beyond that. */
  long maxNanosBetweenCheckpoints() {
    Duration d = maxTimeBetweenCheckpoints;
    return d == null || d.compareTo(Duration.ofNanos(Long.MAX_VALUE)) >= 0 ? Long.MAX_VALUE : d.toNanos();
  }

  public MigrationControl control() {
    return control;
  }

  public MigrationProgress.Listener listener() {
    return listener;
  }
}
