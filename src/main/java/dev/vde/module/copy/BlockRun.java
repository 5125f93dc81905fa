package dev.vde.module.copy;

import dev.vde.format.BlockType;

/**
 * Source blocks {@code [start, start+count)} that inode {@code owner} references as {@code type}: file data
 * (DATA), directory blocks (DIRE) or one indirect extent block (XTNT). The type and owner are what the blocks'
 * trailers must say, so the copy can check every block it moves.
 */
record BlockRun(long start, int count, long owner, BlockType type) {
  long end() {
    return start + count;
  }
}
