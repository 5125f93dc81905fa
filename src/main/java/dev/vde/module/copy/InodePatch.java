package dev.vde.module.copy;

import dev.vde.format.InodeLayout;
import dev.vde.inode.Extent;
import dev.vde.inode.Inode;
import dev.vde.inode.InodeCodec;
import java.util.List;

/**
 * The new extent list and indirect block of an inode whose blocks were relocated. Applied to the inode's record
 * after layout conversion; everything else in the record (core fields, module fields) stays as converted.
 */
record InodePatch(List<Extent> extents, long indirectBlock) {
  InodePatch {
    extents = List.copyOf(extents);
  }

  /** Rewrites the record of inode {@code number} at {@code off} of {@code block} (in {@code layout}). */
  void applyTo(byte[] block, int off, long number, InodeLayout layout) {
    Inode old = InodeCodec.read(block, off, number, layout);
    Inode patched = new Inode(old.number(), old.type(), old.flags(), old.permissions(), old.linkCount(), old.size(),
        old.created(), old.modified(), old.accessed(), old.changed(), indirectBlock, old.generation(), old.parent(),
        extents, old.moduleArea());
    InodeCodec.write(block, off, patched, layout);
  }
}
