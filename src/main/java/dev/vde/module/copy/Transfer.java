package dev.vde.module.copy;

import dev.vde.format.BlockType;

/**
 * Source blocks {@code [src, src+count)} go to destination blocks {@code [dst, dst+count)} unchanged; they belong
 * to inode {@code owner} as {@code type}. {@code src == dst} except for relocated blocks.
 */
record Transfer(long src, long dst, int count, long owner, BlockType type) {
  long srcEnd() {
    return src + count;
  }

  boolean relocated() {
    return src != dst;
  }
}
