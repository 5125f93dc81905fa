package dev.vde.module;

/**
 * Live controls of a running migration: throttle, pause, cancel. Safe to call from any thread while the
 * migration runs in another.
 */
public final class MigrationControl {
  final IopsThrottle throttle;
  private volatile boolean paused;
  private volatile boolean cancelled;
  private volatile boolean yieldToForeground;

  /**
   * A control with the given IOPS limit (0 = unlimited).
   *
   * @throws IllegalArgumentException if {@code maxIops} is negative (a call outside the contract, as for the
   *     options builders: DESIGN.md section 8)
   */
  public MigrationControl(long maxIops, boolean yieldToForeground) {
    this.throttle = new IopsThrottle(maxIops);
    this.yieldToForeground = yieldToForeground;
  }

  /**
   * Changes the IOPS limit (0 = unlimited) at once.
   *
   * @throws IllegalArgumentException if {@code iops} is negative, naming it; the limit is then unchanged
   */
  public void setMaxIops(long iops) {
    throttle.setRate(iops);
  }

  public long maxIops() {
    return throttle.rate();
  }

  /**
   * When on (the default of {@link MigrationOptions}), the copier backs off while the foreground writes: while
   * writers queue for the volume or one committed in the last 2 ms, it pauses up to 10 ms before each batch and
   * copies small batches. With no foreground writes it runs at full speed.
   */
  public void setYieldToForeground(boolean on) {
    this.yieldToForeground = on;
  }

  public boolean yieldToForeground() {
    return yieldToForeground;
  }

  public void pause() {
    paused = true;
  }

  public void unpause() {
    paused = false;
  }

  public boolean isPaused() {
    return paused;
  }

  /** Asks the migration to stop after the batch in progress, with a durable checkpoint there; it stays resumable. */
  public void cancel() {
    cancelled = true;
  }

  public boolean isCancelled() {
    return cancelled;
  }
}
