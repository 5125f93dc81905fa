package dev.vde.module.copy;

import dev.vde.Progress;
import dev.vde.module.IopsThrottle;
import java.io.IOException;
import java.util.function.BooleanSupplier;

/**
 * What every step of one copy shares: the I/O pacing, the progress callback, the cancellation flag and the
 * destination's name for messages. Every block read from the source or written to the destination is accounted for through {@link #io}.
 */
final class CopyContext {
  private final IopsThrottle throttle;
  private final Progress progress;
  private final BooleanSupplier cancelled;
  private final String destination;

  CopyContext(CopyOptions options, String destination) {
    this.throttle = new IopsThrottle(options.maxIops());
    this.progress = options.progress();
    this.cancelled = options.cancellation();
    this.destination = destination;
  }

  /**
   * Accounts for {@code blocks} block I/Os about to be issued: stops if cancelled, waits if over the rate. A
   * cancellation also ends the wait: at a low rate one batch (256 inode-table blocks) can owe many seconds, and an
   * interrupted command gives the copy only a few to remove what it wrote.
   */
  void io(long blocks) throws IOException {
    checkCancelled();
    throttle.acquire(blocks, cancelled);
    checkCancelled();
  }

  /** Like {@link #io} but never cancels: for the writes that must not be separated. */
  void pace(long blocks) throws IOException {
    throttle.acquire(blocks);
  }

  void checkCancelled() throws CopyCancelledException {
    if (cancelled.getAsBoolean()) {
      throw new CopyCancelledException("copy cancelled", destination);
    }
  }

  /** Blocks per transfer, given the buffer's capacity and the I/O limit. */
  int transferBlocks(int bufferBlocks) {
    return (int) throttle.suggestedBatch(bufferBlocks);
  }

  void progress(String phase, long done, long total, String unit) {
    progress.update(phase, done, total, unit);
  }
}
