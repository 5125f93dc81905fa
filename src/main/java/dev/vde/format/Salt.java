package dev.vde.format;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Random 64-bit values that tell one generation of on-disk records from another: the WAL salt of each checkpoint
 * epoch, a migration's id, a copy's destination salt. What they need is to differ from the values an earlier
 * generation left on the same volume, which a 64-bit draw does with overwhelming probability; nobody gains from
 * guessing them. So they come from {@link ThreadLocalRandom}, not {@link java.security.SecureRandom}: setting up
 * the security providers cost about 25 ms of every command's start-up, more than the rest of opening a volume.
 * Never zero, so a salt cannot be confused with a block of zeros.
 */
public final class Salt {
  private Salt() {}

  /** A fresh non-zero random value. */
  public static long next() {
    long s;
    do {
      s = ThreadLocalRandom.current().nextLong();
    } while (s == 0);
    return s;
  }
}
