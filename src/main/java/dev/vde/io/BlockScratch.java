package dev.vde.io;

/**
 * One block's worth of heap bytes per thread. Readers that take a run of blocks into a direct buffer copy each
 * block here before hashing it: the copy stays in the core's cache while it is checked, and hashing a heap array
 * is faster than hashing a direct buffer through an accessor. The array is the thread's until its caller returns,
 * so a caller must not hold it across a call that may use it too (none of the users calls another).
 */
public final class BlockScratch {
  private static final ThreadLocal<byte[]> BLOCK = ThreadLocal.withInitial(() -> new byte[0]);

  private BlockScratch() {}

  /** This thread's array of exactly {@code blockSize} bytes; its contents are whatever its last user left. */
  public static byte[] of(int blockSize) {
    byte[] b = BLOCK.get();
    if (b.length != blockSize) {
      b = new byte[blockSize];
      BLOCK.set(b);
    }
    return b;
  }
}
