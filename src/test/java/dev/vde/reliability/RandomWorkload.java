package dev.vde.reliability;

import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.reliability.Script.SubOp;
import dev.vde.testing.FsModel;
import dev.vde.testing.SeededBytes;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A seeded random script: file operations chosen among those the model says are valid (sizes around block
 * boundaries, overwrites, renames of files and directories, batches), with the module-management operations
 * placed at random points: a padding claim, a region addition, a migration cancelled at a random batch with
 * foreground writes between batches (resumed later, sometimes across a reopen), a second migration rolled back,
 * tags once Tags is active, and copies when no migration is pending. The same seed always gives the same script.
 */
final class RandomWorkload {
  /** Checkpoint interval of the migrations: a few inodes, so a cut finds many checkpoints. */
  static final int CHECKPOINT_EVERY = 8;

  /**
   * {@code -Dvde.reliability.content=degenerate}: file contents are mostly zeros, one repeated block, or bytes
   * written before (under another name), instead of distinct random bytes. Distinct content makes every stale
   * block differ from the one that replaced it, so a recovery that mistook one for the other would be caught by
   * its checksum; with degenerate content an older block can pass for a lost newer one, which is what found two
   * recovery defects (docs/RELIABILITY.md, defects 6 and 11). The script's operations are the same for a seed
   * either way; only the bytes differ.
   */
  static final boolean DEGENERATE = "degenerate".equals(System.getProperty("vde.reliability.content", "random"));

  private final boolean degenerate;

  private final SplittableRandom rnd;
  /** Picks degenerate contents; separate from {@link #rnd} so that the content mode leaves the operations alone. */
  private final SplittableRandom contentRnd;
  private final List<byte[]> written = new ArrayList<>();
  private final Script s;
  private long dataSeed;

  private RandomWorkload(long seed, CreateOptions create, boolean degenerate) {
    this.degenerate = degenerate;
    this.rnd = new SplittableRandom(seed);
    this.contentRnd = new SplittableRandom(seed ^ 0xC0FFEE);
    this.s = new Script(create, CHECKPOINT_EVERY);
    this.dataSeed = seed * 31;
  }

  /**
   * A script of about {@code fileOps} file operations plus the module operations, with the content mode the
   * system property chooses ({@link #DEGENERATE}).
   */
  static Script build(long seed, int blockSize, long sizeBytes, int fileOps) {
    return build(seed, blockSize, sizeBytes, fileOps, DEGENERATE);
  }

  /** {@link #build(long, int, long, int)} with degenerate or distinct random contents as asked. */
  static Script build(long seed, int blockSize, long sizeBytes, int fileOps, boolean degenerate) {
    RandomWorkload w = new RandomWorkload(seed,
        CreateOptions.ofSize(sizeBytes).blockSize(blockSize).label("random " + seed), degenerate);
    w.generate(fileOps);
    return w.s;
  }

  private void generate(int fileOps) {
    // Where the module operations become due, as positions among the file operations; each happens at the first
    // position at or after that where it is valid (no other migration pending).
    int padding = rnd.nextInt(fileOps / 3 + 1);
    int region = rnd.nextInt(fileOps / 2 + 1);
    int rolledBack = fileOps / 4 + rnd.nextInt(fileOps / 4 + 1);
    int migration = fileOps / 2 + rnd.nextInt(fileOps / 4 + 1);
    int copyAt = rnd.nextInt(fileOps);
    int secondCopyAt = rnd.nextInt(fileOps);
    boolean paddingDone = false;
    boolean regionDone = false;
    boolean securityDone = false;
    boolean tagsDone = false;
    int rollbackAt = -1;
    int resumeAt = -1;
    for (int i = 0; i < fileOps; i++) {
      if (!paddingDone && i >= padding && s.current().pending == 0) {
        s.paddingClaim(Module.TRANSIT);
        paddingDone = true;
      }
      if (!regionDone && i >= region && s.current().pending == 0) {
        s.regionAddition(Module.INTEGRITY);
        regionDone = true;
      }
      if (!securityDone && i >= rolledBack && s.current().pending == 0) {
        populateForMigration();
        // Security's 24 bytes need a migration before Tags takes the room; it is cut short and rolled back.
        int cancelAfter = 1 + rnd.nextInt(3);
        s.migrate(List.of(Module.SECURITY), foreground(rnd.nextInt(cancelAfter + 1)), cancelAfter);
        securityDone = true;
        rollbackAt = i + 1 + rnd.nextInt(3);
      }
      if (rollbackAt >= 0 && i >= rollbackAt) {
        s.rollback();
        rollbackAt = -1;
      }
      if (!tagsDone && i >= migration && s.current().pending == 0) {
        populateForMigration();
        int cancelAfter = rnd.nextInt(3) != 0 ? 1 + rnd.nextInt(4) : -1;
        boolean cancel = cancelAfter >= 0;
        // One foreground operation per progress report, and none after the cancel.
        s.migrate(List.of(Module.TAGS), foreground(rnd.nextInt(cancel ? cancelAfter + 1 : 4)), cancelAfter);
        tagsDone = true;
        if (cancel) {
          resumeAt = i + 2 + rnd.nextInt(4);
        }
      }
      if (resumeAt >= 0 && i >= resumeAt) {
        if (rnd.nextBoolean()) {
          s.reopen();
        }
        s.resume(foreground(rnd.nextInt(3)));
        resumeAt = -1;
      }
      if ((i == copyAt || i == secondCopyAt) && s.current().pending == 0) {
        s.copy(rnd.nextBoolean() ? List.of(Module.OBSERVABILITY) : List.of());
      }
      fileOp();
    }
    if (s.current().pending != 0) {
      if (rollbackAt >= 0) {
        s.rollback();
      } else {
        s.resume(List.of());
      }
    }
    s.close();
  }

  /** A migration with only a handful of inodes would have fewer batches than the script's cancel point. */
  private void populateForMigration() {
    if (s.current().tree.files().size() >= 40) {
      return;
    }
    String dir = s.freshName("/pop");
    List<SubOp> ops = new ArrayList<>();
    ops.add(Script.subMkdir(dir));
    for (int k = 0; k < 40; k++) {
      ops.add(Script.subWrite(dir + "/f" + k, data(rnd.nextInt(200))));
    }
    s.batch("populate " + dir, ops);
  }

  /** Foreground operations for a migration's listener, valid in sequence from the current model. */
  private List<SubOp> foreground(int n) {
    VolumeModel m = s.current().copy();
    List<SubOp> out = new ArrayList<>();
    for (int k = 0; k < n; k++) {
      SubOp o;
      List<String> files = new ArrayList<>(m.tree.files().keySet());
      int pick = rnd.nextInt(4);
      if (pick == 0 && !files.isEmpty()) {
        o = Script.subAppend(files.get(rnd.nextInt(files.size())), data(1 + rnd.nextInt(s.payload())));
      } else if (pick == 1 && files.size() > 4) {
        o = Script.subDelete(files.get(rnd.nextInt(files.size())));
      } else if (pick == 2 && m.has(Module.TRANSIT) && !files.isEmpty()) {
        o = Script.subTransit(files.get(rnd.nextInt(files.size())), (byte) (1 + rnd.nextInt(255)));
      } else {
        o = Script.subWrite(randomDir(m.tree) + "/" + s.freshName("fg"), data(rnd.nextInt(2 * s.payload())));
      }
      o.effect().accept(m);
      out.add(o);
    }
    return out;
  }

  private void fileOp() {
    VolumeModel m = s.current();
    List<String> files = new ArrayList<>(m.tree.files().keySet());
    List<String> dirs = new ArrayList<>(m.tree.dirs());
    int p = s.payload();
    switch (rnd.nextInt(16)) {
      case 0, 1 -> s.writeFile(randomDir(m.tree) + "/" + s.freshName("f"), data(size()));
      case 2 -> {
        if (!files.isEmpty()) {
          s.writeFile(pick(files), data(size()));
        } else {
          s.writeStream(randomDir(m.tree) + "/" + s.freshName("s"), data(size()));
        }
      }
      case 3 -> s.writeStream(randomDir(m.tree) + "/" + s.freshName("s"), data(size()));
      case 4 -> {
        if (!files.isEmpty()) {
          String f = pick(files);
          int len = m.tree.content(f).length;
          long pos = len == 0 ? 0 : rnd.nextInt(len + p);
          s.write(f, pos, data(1 + rnd.nextInt(2 * p)));
        }
      }
      case 5 -> {
        if (!files.isEmpty()) {
          s.append(pick(files), data(1 + rnd.nextInt(p + 10)));
        }
      }
      case 6 -> {
        if (!files.isEmpty()) {
          String f = pick(files);
          int len = m.tree.content(f).length;
          s.truncate(f, rnd.nextBoolean() ? rnd.nextInt(len + 1) : len + rnd.nextInt(2 * p));
        }
      }
      case 7 -> {
        if (files.size() > 3) {
          s.delete(pick(files));
        }
      }
      case 8 -> {
        if (!files.isEmpty()) {
          s.rename(pick(files), randomDir(m.tree) + "/" + s.freshName("r"));
        }
      }
      case 9 -> {
        if (!dirs.isEmpty()) {
          String from = pick(dirs);
          String parent = randomDir(m.tree);
          if (!parent.equals(from) && !parent.startsWith(from + "/")) {
            s.rename(from, parent + "/" + s.freshName("rd"));
          }
        }
      }
      case 10 -> s.mkdir(randomDir(m.tree) + "/" + s.freshName("d"));
      case 11 -> s.mkdirs(randomDir(m.tree) + "/" + s.freshName("m") + "/" + s.freshName("m"));
      case 12 -> {
        List<String> empty = new ArrayList<>();
        for (String d : dirs) {
          if (m.tree.isEmptyDir(d)) {
            empty.add(d);
          }
        }
        if (!empty.isEmpty()) {
          s.delete(pick(empty));
        }
      }
      case 13 -> batch();
      case 14 -> {
        if (m.has(Module.TRANSIT) && !files.isEmpty()) {
          s.setTransit(pick(files), (byte) rnd.nextInt(256));
        } else {
          s.checkpoint();
        }
      }
      default -> {
        if (m.has(Module.TAGS) && !files.isEmpty()) {
          String f = pick(files);
          if (m.tags.containsKey(f) && rnd.nextBoolean()) {
            s.removeTag(f, pick(new ArrayList<>(m.tags.get(f).keySet())));
          } else {
            s.setTag(f, "k" + rnd.nextInt(4), "v" + rnd.nextInt(1000));
          }
        } else if (rnd.nextInt(4) == 0) {
          s.reopen();
        } else {
          s.writeFile(randomDir(m.tree) + "/" + s.freshName("f"), data(size()));
        }
      }
    }
  }

  private void batch() {
    VolumeModel m = s.current().copy();
    List<SubOp> ops = new ArrayList<>();
    int n = 2 + rnd.nextInt(4);
    for (int k = 0; k < n; k++) {
      SubOp o = rnd.nextInt(3) == 0 ? Script.subMkdir(randomDir(m.tree) + "/" + s.freshName("bd"))
          : Script.subWrite(randomDir(m.tree) + "/" + s.freshName("b"), data(size()));
      o.effect().accept(m);
      ops.add(o);
    }
    s.batch(n + " ops", ops);
  }

  /** Sizes around 0, one block payload and a few payloads, where off-by-one errors live. */
  private int size() {
    int p = s.payload();
    return switch (rnd.nextInt(5)) {
      case 0 -> rnd.nextInt(3);
      case 1 -> p - 1 + rnd.nextInt(3);
      case 2 -> rnd.nextInt(p);
      case 3 -> 2 * p + rnd.nextInt(3 * p);
      default -> rnd.nextInt(8 * p);
    };
  }

  private String randomDir(FsModel tree) {
    List<String> dirs = new ArrayList<>(tree.dirs());
    if (dirs.isEmpty() || rnd.nextInt(4) == 0) {
      return "";
    }
    return pick(dirs);
  }

  private <T> T pick(List<T> xs) {
    return xs.get(rnd.nextInt(xs.size()));
  }

  private byte[] data(int n) {
    byte[] random = SeededBytes.bytes(dataSeed++, n);
    if (!degenerate) {
      return random;
    }
    byte[] b = new byte[n];
    switch (contentRnd.nextInt(4)) {
      case 0 -> { } // all zeros
      case 1 -> {
        // One 64-byte pattern over and over: every block of it (at one offset) has the same payload.
        byte[] unit = SeededBytes.bytes(7, 64);
        for (int i = 0; i < n; i++) {
          b[i] = unit[i % unit.length];
        }
      }
      case 2 -> {
        // Bytes written before, as far as they go (zeros after): the same blocks under another name.
        if (!written.isEmpty()) {
          byte[] old = written.get(contentRnd.nextInt(written.size()));
          System.arraycopy(old, 0, b, 0, Math.min(n, old.length));
        }
      }
      default -> b = random;
    }
    written.add(b);
    return b;
  }
}
