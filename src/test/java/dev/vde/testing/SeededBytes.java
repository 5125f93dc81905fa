package dev.vde.testing;

import java.util.SplittableRandom;

/** Deterministic test content: pseudo-random bytes from a seed, so two files never share content by accident. */
public final class SeededBytes {
  private SeededBytes() {}

  /** {@code length} pseudo-random bytes determined by {@code seed}. */
  public static byte[] bytes(long seed, int length) {
    byte[] b = new byte[length];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < length; i++) {
      b[i] = (byte) r.nextInt(256);
    }
    return b;
  }

  /** {@code length} bytes that all differ from the corresponding byte of {@code other} (for overwrite tests). */
  public static byte[] differentFrom(byte[] other, int offset, int length, long seed) {
    byte[] b = bytes(seed, length);
    for (int i = 0; i < length; i++) {
      if (offset + i < other.length && b[i] == other[offset + i]) {
        b[i] = (byte) ~b[i];
      }
    }
    return b;
  }
}
