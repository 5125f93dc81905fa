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
  /**
   * Set while a pre-copied source's writers are held off (see {@link #paced}): what is read and written then is
   * not paced.
   */
  private volatile boolean unpaced;

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
    if (unpaced) {
      return;
    }
    throttle.acquire(blocks, cancelled);
    checkCancelled();
  }

  /**
   * Turns the I/O limit off ({@code false}) or on again. Off for the part of a live copy that holds the source's
   * writers off once a pre-copy has moved the bulk at the limit: the limit spares other users of the disk, and
   * stretching that part would hold the volume's own users off for what the limit costs (a scan of the whole
   * inode table at the limit's pace).
   */
  void paced(boolean on) {
    unpaced = !on;
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
    return unpaced ? bufferBlocks : (int) throttle.suggestedBatch(bufferBlocks);
  }

  void progress(String phase, long done, long total, String unit) {
    progress.update(phase, done, total, unit);
  }
}
