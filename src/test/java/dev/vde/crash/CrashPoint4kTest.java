package dev.vde.crash;

/** Crash sweep with 4096-byte blocks, the default block size. */
class CrashPoint4kTest extends AbstractCrashPointTest {
  @Override
  int blockSize() {
    return 4096;
  }
}
