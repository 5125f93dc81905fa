package dev.vde.alloc;

import dev.vde.VdeCorruptedException;
import dev.vde.VdeException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import java.io.IOException;

/**
 * The allocation bitmap in memory: one bit per block, 1 = allocated.
 *
 * <p>Two views are kept. {@code durable} is what the BMAP blocks say once every published transaction is
 * applied; it is what gets encoded into bitmap block images. {@code inUse} is what the allocator may not hand
 * out: {@code durable}, plus blocks reserved by a transaction being built, plus blocks freed since the last
 * WAL checkpoint.
 *
 * <p>Invariants (cited in DESIGN.md as "AllocationBitmap (n)"):
 * <ol>
 *   <li>A block is marked allocated in the durable bitmap in the same WAL transaction as the first metadata that
 *       refers to it, so no committed metadata points at a free block.</li>
 *   <li>A block freed by a transaction stays in {@code inUse} until the WAL checkpoint after that transaction
 *       is complete. It is therefore never reused while the freeing transaction could still be lost, nor while
 *       an older WAL image of it (say, a directory block) could still be replayed over new data. The engine
 *       may hold it longer: not before every streaming read that could still be reading it has ended
 *       ({@code Volume.pinForRead}).</li>
 *   <li>{@code durable ⊆ inUse}, and bits at or past {@code totalBlocks} are clear in {@code durable} and set in
 *       {@code inUse}.</li>
 * </ol>
 * Not thread-safe; the engine calls it under its writer lock.
 *
 * <p>Memory: both views are held whole, one bit per block each ({@link #heapBytes}), each in one array, so a
 * volume can have at most about 2^37 blocks here. {@link #heapProblem} tells, before anything is written, whether
 * this JVM can hold the bitmap at all; the allocations themselves turn a heap that runs short anyway into a
 * {@link VdeException} saying how much is needed, not an {@link OutOfMemoryError}.
 */
public final class AllocationBitmap {
  private final long totalBlocks;
  private final int blockSize;
  private final long[] durable;
  private final long[] inUse;
  private long durableFree;
  /** Clear bits of {@code inUse} below {@code totalBlocks}, kept current so callers need not count. */
  private long inUseFree;
  /** Where the next first-fit search starts; wraps to 0. */
  private long hint;

  /** The most elements one Java array may have (the JVM reserves a few below {@code Integer.MAX_VALUE}). */
  private static final long MAX_WORDS = Integer.MAX_VALUE - 8;

  private AllocationBitmap(long totalBlocks, int blockSize, long[] durable, long[] inUse) {
    this.totalBlocks = totalBlocks;
    this.blockSize = blockSize;
    this.durable = durable;
    this.inUse = inUse;
    System.arraycopy(durable, 0, inUse, 0, durable.length);
    long words = (long) durable.length << 6;
    if (words > totalBlocks) {
      FreeSpaceScanner.setRange(inUse, totalBlocks, words - totalBlocks, true);
    }
    this.durableFree = FreeSpaceScanner.countFree(durable, totalBlocks);
    this.inUseFree = durableFree;
  }

  /** Bits one bitmap block holds. */
  public static long bitsPerBlock(int blockSize) {
    return (long) BlockCodec.payloadSize(blockSize) * 8;
  }

  /** Bitmap blocks needed for a volume of {@code totalBlocks}. */
  public static long blocksFor(long totalBlocks, int blockSize) {
    long per = bitsPerBlock(blockSize);
    return (totalBlocks + per - 1) / per;
  }

  private static int wordsPerBlock(int blockSize) {
    return BlockCodec.payloadSize(blockSize) / 8;
  }

  /** 64-bit words of one view for a volume of {@code totalBlocks} (whole bitmap blocks). */
  private static long wordsFor(long totalBlocks, int blockSize) {
    return blocksFor(totalBlocks, blockSize) * wordsPerBlock(blockSize);
  }

  /** Heap the bitmap of a volume of {@code totalBlocks} takes while it is open: both views. */
  public static long heapBytes(long totalBlocks, int blockSize) {
    return 2 * 8 * wordsFor(totalBlocks, blockSize);
  }

  /**
   * Why this JVM cannot hold the bitmap of a volume of {@code totalBlocks}, or null when its maximum heap is large
   * enough (whether enough of it is free shows only when the bitmap is allocated). The message says how much
   * heap it needs and how to give the JVM more; callers add what else can be done.
   */
  public static String heapProblem(long totalBlocks, int blockSize) {
    long words = wordsFor(totalBlocks, blockSize);
    if (words > MAX_WORDS) {
      long most = MAX_WORDS / wordsPerBlock(blockSize) * bitsPerBlock(blockSize);
      return "a volume of " + totalBlocks + " blocks of " + blockSize + " bytes is too large for this engine, which "
          + "keeps its allocation bitmap in memory in arrays of at most " + MAX_WORDS + " 64-bit words: at most "
          + most + " blocks of " + blockSize + " bytes; use a larger block size or a smaller size";
    }
    long max = Runtime.getRuntime().maxMemory();
    long need = heapBytes(totalBlocks, blockSize);
    if (max != Long.MAX_VALUE && need > max) {
      return "a volume of " + totalBlocks + " blocks keeps its allocation bitmap in memory, "
          + gib(need) + " of Java heap, more than this JVM's maximum heap of " + gib(max) + "; " + remedy(need);
    }
    return null;
  }

  /** How to get the heap for {@code need} bytes of bitmap, with room for the rest of the program. */
  private static String remedy(long need) {
    long suggest = (need + need / 4 + (512L << 20) + (1L << 30) - 1) >> 30;
    return "run Java with a larger heap (-Xmx; for the vde tool, e.g. JAVA_TOOL_OPTIONS=-Xmx" + suggest + "g)";
  }

  private static String gib(long bytes) {
    return String.format(java.util.Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
  }

  /**
   * Both views' arrays for a volume of {@code totalBlocks}, or a {@link VdeException} saying how much heap they
   * need when this JVM cannot give it (the views are the engine's largest allocation by far).
   */
  private static long[][] allocateViews(long totalBlocks, int blockSize) throws VdeException {
    String problem = heapProblem(totalBlocks, blockSize);
    if (problem != null) {
      throw new VdeException(problem);
    }
    int words = (int) wordsFor(totalBlocks, blockSize);
    long[] durable = words(words, heapBytes(totalBlocks, blockSize), "the allocation bitmap of a volume of "
        + totalBlocks + " blocks");
    return new long[][] {durable, words(words, heapBytes(totalBlocks, blockSize), "the allocation bitmap of a "
        + "volume of " + totalBlocks + " blocks")};
  }

  /**
   * A new array of {@code count} words, one bit per block of a volume (a copy of the bitmap, a record of changed
   * blocks), or a {@link VdeException} naming {@code what} needs it and how to get the heap when this JVM cannot
   * give it, instead of an {@link OutOfMemoryError}.
   *
   * @param need the heap the whole structure takes, for the message
   */
  public static long[] words(int count, long need, String what) throws VdeException {
    try {
      return new long[count];
    } catch (OutOfMemoryError e) {
      throw new VdeException("this JVM cannot spare the " + gib(need) + " of heap that " + what + " needs (its "
          + "maximum heap is " + gib(Runtime.getRuntime().maxMemory()) + ", part of it in use); " + remedy(need),
          e);
    }
  }

  /** A copy of {@code words}, as {@link #words} allocates it. */
  public static long[] copyOf(long[] words, String what) throws VdeException {
    long[] out = words(words.length, 8L * words.length, what);
    System.arraycopy(words, 0, out, 0, words.length);
    return out;
  }

  /** Supplies bitmap block {@code index}, verified, for {@link #read}. */
  public interface BlockSource {
    byte[] block(long index) throws IOException;
  }

  /**
   * A stand-in for bitmap block {@code index} that cannot be read: every block it covers marked allocated (bits
   * past the end of the volume clear). A read-only open uses it, so that a damaged bitmap block costs only the
   * free-space figure, not access to the files; nothing allocates from it.
   */
  public static byte[] allAllocatedBlock(long index, long totalBlocks, int blockSize) {
    byte[] b = new byte[blockSize];
    int wpb = wordsPerBlock(blockSize);
    for (int k = 0; k < wpb; k++) {
      long first = (index * wpb + k) << 6;
      long word = first + 64 <= totalBlocks ? -1L : first < totalBlocks ? (1L << (totalBlocks - first)) - 1 : 0;
      Bytes.put64(b, k * 8, word);
    }
    return b;
  }

  /**
   * An empty bitmap (all free).
   *
   * @throws VdeException if this JVM cannot hold it ({@link #heapProblem}, or the heap ran short)
   */
  public static AllocationBitmap empty(long totalBlocks, int blockSize) throws VdeException {
    long[][] views = allocateViews(totalBlocks, blockSize);
    return new AllocationBitmap(totalBlocks, blockSize, views[0], views[1]);
  }

  /**
   * Decodes the bitmap of a volume of {@code totalBlocks} from its verified blocks, which {@code source} supplies
   * one at a time, in order, so that only one of them is held at once. Bits past the end of the volume must be
   * clear; {@code firstBlockNo} is used in error messages.
   *
   * @throws VdeException if this JVM cannot hold it ({@link #heapProblem}, or the heap ran short)
   */
  public static AllocationBitmap read(BlockSource source, long firstBlockNo, long totalBlocks, int blockSize,
      String resource) throws IOException {
    int wpb = wordsPerBlock(blockSize);
    long[][] views = allocateViews(totalBlocks, blockSize);
    long[] words = views[0];
    int blocks = words.length / wpb;
    for (int i = 0; i < blocks; i++) {
      byte[] b = source.block(i);
      for (int k = 0; k < wpb; k++) {
        words[i * wpb + k] = Bytes.i64(b, k * 8);
      }
    }
    long limit = (long) words.length << 6;
    if (totalBlocks < limit && FreeSpaceScanner.nextSet(words, totalBlocks, limit) < limit) {
      long bit = FreeSpaceScanner.nextSet(words, totalBlocks, limit);
      throw new VdeCorruptedException(firstBlockNo + bit / bitsPerBlock(blockSize), BlockType.BITMAP.structure(),
          "bit " + bit + " set past the end of the volume (" + totalBlocks + " blocks)", resource);
    }
    return new AllocationBitmap(totalBlocks, blockSize, words, views[1]);
  }

  /** Encodes bitmap block {@code index} from the durable view. */
  public byte[] encodeBlock(int index) {
    byte[] b = new byte[blockSize];
    int wpb = wordsPerBlock(blockSize);
    for (int k = 0; k < wpb; k++) {
      Bytes.put64(b, k * 8, durable[index * wpb + k]);
    }
    BlockCodec.seal(b, BlockType.BITMAP, index);
    return b;
  }

  /** Index of the bitmap block holding the bit of {@code block}. */
  public int blockIndexOf(long block) {
    return (int) (block / bitsPerBlock(blockSize));
  }

  public long totalBlocks() {
    return totalBlocks;
  }

  /** Free blocks according to the durable view (what the superblock reports). */
  public long durableFree() {
    return durableFree;
  }

  /** Blocks the allocator could hand out right now. */
  public long allocatableFree() {
    return inUseFree;
  }

  /** Reserves the first free run of exactly {@code count} blocks (first fit from the hint); -1 if none. */
  public long reserveRun(long count) {
    long s = FreeSpaceScanner.firstFreeRun(inUse, totalBlocks, count, hint);
    if (s < 0 && hint > 0) {
      s = FreeSpaceScanner.firstFreeRun(inUse, totalBlocks, count, 0);
    }
    if (s >= 0) {
      FreeSpaceScanner.setRange(inUse, s, count, true);
      inUseFree -= count;
      hint = s + count;
    }
    return s;
  }

  /**
   * Reserves the longest free run not longer than {@code max}, preferring one that starts at {@code near};
   * returns {start, count} or null when nothing is free.
   */
  public long[] reserveUpTo(long max, long near) {
    if (near > 0 && near < totalBlocks && !FreeSpaceScanner.isSet(inUse, near)) {
      long end = FreeSpaceScanner.nextSet(inUse, near, Math.min(totalBlocks, near + max));
      FreeSpaceScanner.setRange(inUse, near, end - near, true);
      inUseFree -= end - near;
      hint = end;
      return new long[] {near, end - near};
    }
    long s = reserveRun(max);
    if (s >= 0) {
      return new long[] {s, max};
    }
    long[] best = {-1, 0};
    FreeSpaceScanner.freeRuns(inUse, 0, totalBlocks, (st, c) -> {
      if (c > best[1]) {
        best[0] = st;
        best[1] = c;
      }
      return best[1] < max;
    });
    if (best[0] < 0) {
      return null;
    }
    long n = Math.min(max, best[1]);
    FreeSpaceScanner.setRange(inUse, best[0], n, true);
    inUseFree -= n;
    hint = best[0] + n;
    return new long[] {best[0], n};
  }

  /** Reserves the lowest free run of exactly {@code count} blocks (first fit from block 0); -1 if none. */
  public long reserveFirstFit(long count) {
    long s = FreeSpaceScanner.firstFreeRun(inUse, totalBlocks, count, 0);
    if (s >= 0) {
      FreeSpaceScanner.setRange(inUse, s, count, true);
      inUseFree -= count;
    }
    return s;
  }

  /** A copy of the allocator's view (1 = not available), for pre-flight planning that must not reserve. */
  public long[] allocatableWordsCopy() throws VdeException {
    return copyOf(inUse, "a copy of the allocation bitmap of a volume of " + totalBlocks + " blocks");
  }

  /** Returns reserved-but-unpublished blocks (a transaction aborted). */
  public void unreserve(long start, long count) {
    inUseFree += FreeSpaceScanner.setRange(inUse, start, count, false);
  }

  /** A committed transaction allocated these blocks (they are already reserved). */
  public void publishAllocated(long start, long count) {
    durableFree -= FreeSpaceScanner.setRange(durable, start, count, true);
  }

  /**
   * A committed transaction freed these blocks; they stay in use until {@link #release}. Only bits that were set
   * count: an extent damaged to name blocks the bitmap calls free (checksum intact) frees them again, and counting
   * the whole range grew the free count past the blocks that are free, into a superblock that no open, and no
   * checkpoint, accepts once it passes the volume's size.
   */
  public void publishFreed(long start, long count) {
    durableFree += FreeSpaceScanner.setRange(durable, start, count, false);
  }

  /**
   * The checkpoint after the freeing transaction completed: the blocks may be handed out again. A block allocated
   * again since is left in use: the free named a block that was not in use (a damaged extent), which the allocator
   * could hand to another file before this release, and releasing it then would give it out a second time.
   */
  public void release(long start, long count) {
    inUseFree += releaseInto(inUse, start, count);
  }

  /**
   * Clears in {@code words}, an allocator view (1 = not available) such as {@link #allocatableWordsCopy}, what
   * {@link #release} of the range would clear: only blocks durably free. A plan counting on a free not yet released
   * then counts only the blocks its release will hand out. Returns the number of bits cleared.
   */
  public long releaseInto(long[] words, long start, long count) {
    long cleared = 0;
    long end = start + count;
    for (long p = start; p < end; ) {
      int w = (int) (p >>> 6);
      int lo = (int) (p & 63);
      int n = (int) Math.min(64 - lo, end - p);
      long mask = (n == 64 ? -1L : ((1L << n) - 1) << lo) & words[w] & ~durable[w];
      words[w] &= ~mask;
      cleared += Long.bitCount(mask);
      p += n;
    }
    return cleared;
  }

  public boolean isDurablyAllocated(long block) {
    return FreeSpaceScanner.isSet(durable, block);
  }

  public boolean rangeDurablyAllocated(long start, long count) {
    return FreeSpaceScanner.rangeIs(durable, start, count, true);
  }

  /** The durable view, for scanners (allocated runs for a copy, free runs for planning). Do not modify. */
  public long[] durableWords() {
    return durable;
  }

  public long largestFreeRun() {
    return FreeSpaceScanner.largestFreeRun(inUse, totalBlocks);
  }

  /** Checks invariant (3); used by assertions. */
  boolean invariantsHold() {
    if (inUseFree != FreeSpaceScanner.countFree(inUse, totalBlocks)) {
      return false;
    }
    for (int i = 0; i < durable.length; i++) {
      if ((durable[i] & ~inUse[i]) != 0) {
        return false;
      }
    }
    return true;
  }

  /** Whether the invariants hold; package-private checks run under assertions. */
  public boolean checkInvariants() {
    return invariantsHold();
  }
}
