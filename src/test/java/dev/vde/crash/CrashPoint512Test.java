package dev.vde.crash;

/** Crash sweep with 512-byte blocks: every structure spans the most blocks, so a step has the most crash points. */
class CrashPoint512Test extends AbstractCrashPointTest {
  @Override
  int blockSize() {
    return 512;
  }
}
