package dev.vde.module.copy;

import dev.vde.format.Module;
import java.time.Duration;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * What a copy did.
 *
 * @param totalBlocks blocks of the source volume: what a naive image copy would transfer
 * @param blocksCopied source data-area blocks (file data, directory and extent blocks) that reached the
 *     destination, byte for byte or, for extent blocks of relocated files, re-encoded
 * @param blocksSkipped source blocks not transferred: free blocks and the source's metadata, which the
 *     destination rebuilds in its own layout ({@code totalBlocks - blocksCopied})
 * @param blocksRelocated of {@code blocksCopied}, those placed at another block number because the destination's
 *     larger metadata covers their old place
 * @param extentBlocksAdded new indirect extent blocks for files whose extents relocation split
 * @param inodesCopied inodes in use, all carried over with their numbers
 * @param bytesCopied {@code blocksCopied} in bytes
 * @param duration wall time of the whole copy, verification included
 * @param pauseMillis how long writers of the source were held off; 0 for a source opened read-only, which has none
 * @param verified whether the destination was re-read and checked against the source
 * @param modulesAdded modules the destination has and the source had not
 * @param modules every module of the destination
 */
public record CopyResult(long totalBlocks, long blocksCopied, long blocksSkipped, long blocksRelocated,
    long extentBlocksAdded, long inodesCopied, long bytesCopied, Duration duration, long pauseMillis,
    boolean verified, Set<Module> modulesAdded, Set<Module> modules) {

  public CopyResult {
    modulesAdded = Collections.unmodifiableSet(copyOf(modulesAdded));
    modules = Collections.unmodifiableSet(copyOf(modules));
  }

  private static Set<Module> copyOf(Set<Module> ms) {
    return ms.isEmpty() ? EnumSet.noneOf(Module.class) : EnumSet.copyOf(ms);
  }

  /** How many times fewer blocks moved than a block-for-block image copy would move. */
  public double speedupOverNaive() {
    return (double) totalBlocks / Math.max(1, blocksCopied);
  }

  /** Bytes copied per second of {@link #duration}. */
  public double bytesPerSecond() {
    double seconds = Math.max(duration.toNanos(), 1) / 1e9;
    return bytesCopied / seconds;
  }
}
