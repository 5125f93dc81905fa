package dev.vde.module.copy;

import dev.vde.inode.Extent;
import java.util.List;

/**
 * Everything an inode references in the data area: its full extent list (inline and indirect) and the block
 * numbers of its indirect extent chain, in chain order. Kept only for inodes that relocation may rewrite.
 */
record InodeRefs(long number, List<Extent> extents, List<Long> chainBlocks) {
  InodeRefs {
    extents = List.copyOf(extents);
    chainBlocks = List.copyOf(chainBlocks);
  }
}
