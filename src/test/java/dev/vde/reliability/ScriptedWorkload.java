package dev.vde.reliability;

import static dev.vde.reliability.Script.subAppend;
import static dev.vde.reliability.Script.subDelete;
import static dev.vde.reliability.Script.subMkdir;
import static dev.vde.reliability.Script.subTransit;
import static dev.vde.reliability.Script.subWrite;

import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.testing.SeededBytes;
import java.util.ArrayList;
import java.util.List;

/**
 * The hand-written script of the campaign: every mutating operation of the engine and of module management once,
 * in an order where each finds interesting state before it (a file past one block before the overwrite, a
 * migration to roll back after a padding claim, a pending migration before foreground writes and a reopen, Tags
 * active before tags are set, a volume with modules and a migration history to copy). Sizes sit on block-payload
 * boundaries.
 */
final class ScriptedWorkload {
  /** Inodes of the scripted volumes: enough for the script, few enough that a migration table stays small. */
  static final int INODES = 128;
  /** Migration checkpoint interval: every 4 inodes, so each migration records many checkpoints. */
  static final int CHECKPOINT_EVERY = 4;

  private ScriptedWorkload() {}

  /** A 2 MiB volume for 512-byte blocks, 4 MiB for larger ones. */
  static Script build(int blockSize) {
    long size = blockSize == 512 ? 2L << 20 : 4L << 20;
    Script s = new Script(CreateOptions.ofSize(size).blockSize(blockSize).inodeCount(INODES).label("scripted"),
        CHECKPOINT_EVERY);
    int p = s.payload();
    long seed = 1000L * blockSize;

    s.mkdir("/docs");
    s.writeFile("/docs/empty", new byte[0]);
    s.writeFile("/docs/one", SeededBytes.bytes(seed++, p));
    s.writeFile("/docs/big", SeededBytes.bytes(seed++, 3 * p + 7));
    s.writeStream("/docs/stream", SeededBytes.bytes(seed++, 2 * p + 1));
    byte[] oldBig = s.current().tree.content("/docs/big");
    // Covers the tail of block 0, all of block 1 and the head of block 2, every byte different from before.
    s.write("/docs/big", p - 20, SeededBytes.differentFrom(oldBig, p - 20, p + 40, seed++));
    s.append("/docs/one", SeededBytes.bytes(seed++, 30));
    s.truncate("/docs/big", p + 5);
    s.truncate("/docs/empty", 2L * p);
    s.mkdirs("/deep/x/y");
    s.rename("/docs/one", "/deep/x/one");
    s.rename("/deep", "/moved");
    s.delete("/docs/stream");
    if (blockSize == 512) {
      // Longer than writeFile(InputStream)'s 1024-block buffer: staged in reserved blocks while the stream is read,
      // then mapped by one transaction; deleted again to leave the later steps their room (only the small block
      // size lets such a file fit the volume).
      s.writeStream("/docs/staged", SeededBytes.bytes(seed + 500, 1024 * p + p + 3));
      s.delete("/docs/staged");
    }
    s.mkdir("/gone");
    s.delete("/gone");
    byte[] a = SeededBytes.bytes(seed++, 0);
    byte[] b = SeededBytes.bytes(seed++, p + 1);
    s.batch("mkdir /batch, write /batch/a /batch/b",
        List.of(subMkdir("/batch"), subWrite("/batch/a", a), subWrite("/batch/b", b)));

    s.paddingClaim(Module.TRANSIT);
    s.setTransit("/docs/big", (byte) 7);
    s.regionAddition(Module.INTEGRITY);
    s.checkpoint();

    // Security's 24 bytes do not fit in the 15 bytes of padding Transit left: a migration, cut short and rolled
    // back, with a foreground write between its batches.
    s.migrate(List.of(Module.SECURITY), List.of(subWrite("/docs/during-rollback-migration",
        SeededBytes.bytes(seed++, 5))), 2);
    s.rollback();

    // Enough inodes that the Tags migration runs several batches of CHECKPOINT_EVERY.
    List<Script.SubOp> many = new ArrayList<>();
    many.add(subMkdir("/many"));
    for (int i = 0; i < 24; i++) {
      many.add(subWrite("/many/f" + i, SeededBytes.bytes(seed++, 40 + 13 * i)));
    }
    s.batch("mkdir /many and 24 files", many);

    // Foreground writes between batches: a new inode, an append to an old one, a field of a moved one. Cancelled
    // after 4 batches, so it stays pending across writes, a reopen and a resume with more foreground writes.
    s.migrate(List.of(Module.TAGS), List.of(
        subWrite("/many/fg0", SeededBytes.bytes(seed++, p + 3)),
        subAppend("/docs/big", SeededBytes.bytes(seed++, 11)),
        subTransit("/moved/x/one", (byte) 9)), 4);
    s.writeFile("/while-pending", SeededBytes.bytes(seed++, 100));
    s.reopen();
    s.delete("/many/f3");
    s.resume(List.of(subWrite("/many/fg1", SeededBytes.bytes(seed++, 77)), subDelete("/many/f4")));
    s.setTag("/docs/big", "k", "v");
    s.setTag("/moved/x/one", "color", "blue");
    s.removeTag("/docs/big", "k");

    // A region-only module, so the copy's inodes fit 512-byte blocks too.
    s.copy(List.of(Module.OBSERVABILITY));
    s.writeFile("/after-copy", SeededBytes.bytes(seed++, 2 * p));
    s.close();
    return s;
  }
}
