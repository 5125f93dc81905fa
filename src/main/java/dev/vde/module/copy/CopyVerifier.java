package dev.vde.module.copy;

import dev.vde.Progress;
import dev.vde.VdeCorruptedException;
import dev.vde.VdeException;
import dev.vde.check.Problem;
import dev.vde.check.VerifyReport;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import dev.vde.fs.DirEntry;
import dev.vde.fs.FileType;
import dev.vde.fs.VirtualDisk;
import dev.vde.inode.Extent;
import dev.vde.inode.ExtentMap;
import dev.vde.inode.Inode;
import dev.vde.io.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The optional check after a copy, run while the source's writers are still paused so both sides hold the same content:
 * (1) every block the copy wrote is read back and its trailer checked; (2) the volume verifier runs on the destination,
 * reported, paced and cancelled like the copy's other steps; (3) the two directory trees are walked side by side,
 * comparing every entry, every inode (core fields; module fields both have; new module fields zero) and every file's
 * bytes.
 */
final class CopyVerifier {
  private final VirtualDisk source;
  private final VirtualDisk copy;
  private final CopyPlan plan;
  private final CopyContext cx;
  private final int bs;
  private final String resource;
  private final byte[] a;
  private final byte[] b;
  /** Inodes compared so far, the root's counted from the start. */
  private long inodes = 1;

  private CopyVerifier(VirtualDisk source, VirtualDisk copy, CopyPlan plan, CopyContext cx) {
    this.source = source;
    this.copy = copy;
    this.plan = plan;
    this.cx = cx;
    this.bs = plan.geometry().blockSize();
    this.resource = copy.volume().resource();
    this.a = new byte[BlockMover.BUFFER_BYTES];
    this.b = new byte[BlockMover.BUFFER_BYTES];
  }

  /** Fails with a {@link VdeException} saying what differs; returns normally when the copy is faithful. */
  static void verify(VirtualDisk source, VirtualDisk copy, CopyPlan plan, CopyContext cx) throws IOException {
    new CopyVerifier(source, copy, plan, cx).run();
  }

  private void run() throws IOException {
    checkTrailers();
    VerifyReport report;
    try {
      report = copy.verify(checking());
    } catch (java.io.UncheckedIOException e) {
      throw e.getCause();
    }
    if (!report.clean()) {
      List<Problem> ps = report.problems();
      throw mismatch("the verifier found " + ps.size() + " problem(s) in the copy: "
          + ps.stream().limit(3).map(Problem::toString).collect(Collectors.joining("; ")));
    }
    cx.progress("verifying files", 0, plan.inventory().liveInodes(), "inodes");
    compareTree("/");
    long used = copy.volume().superblock().inodesUsed();
    if (used != plan.inventory().liveInodes()) {
      throw mismatch("the copy has " + used + " inodes in use, the source " + plan.inventory().liveInodes());
    }
  }

  /**
   * The full check of the copy reads all of it again, for as long as the copy took to write: it is reported as
   * the copy's own phases, paced by the I/O limit and ended by a cancellation like every other step (an
   * interrupted {@code vde copy} waits only a few seconds for the copy to remove what it wrote, which by now is a
   * valid volume). The verifier's callback cannot throw an {@link IOException}; it leaves wrapped.
   */
  private Progress checking() {
    String[] last = {null};
    long[] lastDone = {0};
    return (phase, done, total, unit) -> {
      long more = phase.equals(last[0]) ? Math.max(0, done - lastDone[0]) : done;
      last[0] = phase;
      lastDone[0] = done;
      try {
        cx.io("blocks".equals(unit) ? more : 0);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      cx.progress("checking the copy (" + phase + ")", done, total, unit);
    };
  }

  private void checkTrailers() throws IOException {
    BlockDevice dev = copy.volume().device();
    long tableStart = plan.geometry().inodeTableStart();
    long tableBlocks = plan.inodeTableInitBlocks();
    for (long i = 0; i < tableBlocks; i++) {
      cx.io(1);
      dev.read((tableStart + i) * bs, ByteBuffer.wrap(a, 0, bs));
      int gen = BlockCodec.verifyAt(a, 0, bs, tableStart + i, BlockType.INODE_TABLE, resource);
      if (gen != (int) i) {
        throw new VdeCorruptedException(tableStart + i, "inode table", "generation " + gen + ", expected " + i,
            resource);
      }
    }
    int chunk = cx.transferBlocks(a.length / bs);
    long done = 0;
    long total = plan.transferredBlocks();
    cx.progress("verifying blocks", 0, total, "blocks");
    for (Transfer t : plan.transfers()) {
      for (int off = 0; off < t.count(); off += chunk) {
        int n = Math.min(chunk, t.count() - off);
        cx.io(n);
        dev.read((t.dst() + off) * bs, ByteBuffer.wrap(a, 0, n * bs));
        for (int k = 0; k < n; k++) {
          int owner = BlockCodec.verifyAt(a, k * bs, bs, t.dst() + off + k, t.type(), resource);
          if (owner != (int) t.owner()) {
            throw new VdeCorruptedException(t.dst() + off + k, t.type().structure(), "block belongs to inode "
                + Integer.toUnsignedLong(owner) + ", expected " + t.owner(), resource);
          }
        }
        done += n;
        cx.progress("verifying blocks", done, total, "blocks");
      }
    }
    for (Map.Entry<Long, byte[]> e : plan.rebuiltBlocks().entrySet()) {
      cx.io(1);
      dev.read(e.getKey() * bs, ByteBuffer.wrap(a, 0, bs));
      if (!Arrays.equals(a, 0, bs, e.getValue(), 0, bs)) {
        throw new VdeCorruptedException(e.getKey(), BlockType.EXTENT.structure(), "rebuilt extent block reads "
            + "back different", resource);
      }
    }
  }

  /**
   * Compares the tree below {@code root}, depth first with a stack of its own, not by recursion: a valid tree
   * thousands of levels deep would exhaust the thread's stack.
   */
  private void compareTree(String root) throws IOException {
    compareInode(root, source.stat(root).inode());
    java.util.ArrayDeque<String> dirs = new java.util.ArrayDeque<>();
    dirs.push(root);
    while (!dirs.isEmpty()) {
      String dir = dirs.pop();
      List<DirEntry> want = source.list(dir);
      List<DirEntry> got = copy.list(dir);
      if (!want.equals(got)) {
        throw mismatch("directory " + dir + " lists " + names(got) + " in the copy but " + names(want)
            + " in the source");
      }
      List<String> below = new java.util.ArrayList<>();
      for (DirEntry e : want) {
        compareInode(e.path(), e.inode());
        if (e.type() == FileType.DIRECTORY) {
          below.add(e.path());
        } else {
          compareContent(e.path(), e.inode(), e.size());
        }
        compared();
      }
      // In name order, as the recursion went.
      for (int i = below.size() - 1; i >= 0; i--) {
        dirs.push(below.get(i));
      }
    }
  }

  private static String names(List<DirEntry> es) {
    return es.stream().map(DirEntry::name).toList().toString();
  }

  private void compareInode(String path, long n) throws IOException {
    Inode s = source.volume().readInode(n);
    Inode c = copy.volume().readInode(n);
    boolean sameCore = s.type() == c.type() && s.flags() == c.flags() && s.permissions() == c.permissions()
        && s.linkCount() == c.linkCount() && s.size() == c.size() && s.created() == c.created()
        && s.modified() == c.modified() && s.accessed() == c.accessed() && s.changed() == c.changed()
        && s.generation() == c.generation() && s.parent() == c.parent() && s.mappedBlocks() == c.mappedBlocks();
    if (!sameCore) {
      throw mismatch("inode " + n + " (" + path + ") differs from the source's");
    }
    InodeLayout from = source.volume().superblock().layout();
    InodeLayout to = copy.volume().superblock().layout();
    for (InodeLayout.Field f : to.fields()) {
      byte[] field = Arrays.copyOfRange(c.moduleArea(), f.offset() - InodeLayout.CORE_SIZE,
          f.end() - InodeLayout.CORE_SIZE);
      InodeLayout.Field g = from.fieldFor(f.moduleId());
      byte[] expected = g == null ? new byte[f.size()]
          : Arrays.copyOfRange(s.moduleArea(), g.offset() - InodeLayout.CORE_SIZE, g.end() - InodeLayout.CORE_SIZE);
      if (!Arrays.equals(field, expected)) {
        throw mismatch("inode " + n + " (" + path + ") has a different " + Module.byId(f.moduleId()).displayName()
            + " field");
      }
    }
  }

  /**
   * Compares the bytes of file {@code path} (inode {@code ino}). Logical blocks that neither side maps are holes on
   * both, which read as zeros, so they are stepped over: a sparse file may be far larger than anything it maps
   * (up to 2^62 bytes), and reading its holes would take as long as its size says, the source's writers waiting.
   */
  private void compareContent(String path, long ino, long size) throws IOException {
    List<Extent> fromSource = source.volume().readInode(ino).extents();
    List<Extent> fromCopy = copy.volume().readInode(ino).extents();
    int payload = BlockCodec.payloadSize(bs);
    long pos = 0;
    while (pos < size) {
      long l = pos / payload;
      long mapped = Math.min(ExtentMap.nextMapped(fromSource, l), ExtentMap.nextMapped(fromCopy, l));
      if (mapped > l) {
        pos = mapped > (size - 1) / payload ? size : mapped * payload;
        continue;
      }
      int want = (int) Math.min(a.length, size - pos);
      // Both sides are read: paced and cancellable as the rest of the copy.
      cx.io(2L * ((want + payload - 1) / payload));
      int n = readFully(source, path, pos, a, want);
      int m = readFully(copy, path, pos, b, want);
      if (n != want || m != want || !Arrays.equals(a, 0, n, b, 0, m)) {
        throw mismatch("file " + path + " differs from the source's in bytes " + pos + ".." + (pos + want - 1));
      }
      pos += n;
    }
  }

  /**
   * Counts one more inode compared. The total is every live inode, directories and the root included, so the
   * phase ends at its total when every inode was reached.
   */
  private void compared() throws IOException {
    cx.checkCancelled();
    inodes++;
    cx.progress("verifying files", inodes, plan.inventory().liveInodes(), "inodes");
  }

  private static int readFully(VirtualDisk disk, String path, long pos, byte[] into, int len) throws IOException {
    int got = 0;
    while (got < len) {
      int n = disk.read(path, pos + got, into, got, len - got);
      if (n <= 0) {
        break;
      }
      got += n;
    }
    return got;
  }

  private VdeException mismatch(String what) {
    return new VdeException("verification of the copy failed: " + what, resource, null);
  }
}
