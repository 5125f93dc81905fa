package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.check.Problem;
import dev.vde.format.BlockType;
import dev.vde.format.Superblock;
import dev.vde.inode.Inode;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An overwrite in a file with a long indirect extent chain rewrites the chain blocks around the change, not the
 * chain; the loose blocks that leaves are announced by the superblock's feature bit, and the verifier holds the
 * volume to it.
 */
class ExtentChainUpdateTest {
  private static final int BS = 512;
  private static final int PAYLOAD = BS - 16;
  private static final int BLOCKS = 800;

  @TempDir
  Path tmp;

  /** A file of {@link #BLOCKS} blocks with every other block overwritten: about 800 extents, 40 chain blocks. */
  private static byte[] fragmented(VirtualDisk d) throws Exception {
    byte[] model = SeededBytes.bytes(1, BLOCKS * PAYLOAD);
    d.writeFile("/f", model);
    for (int b = 1; b < BLOCKS; b += 2) {
      byte[] patch = SeededBytes.bytes(100 + b, PAYLOAD);
      d.write("/f", (long) b * PAYLOAD, patch, 0, PAYLOAD);
      System.arraycopy(patch, 0, model, b * PAYLOAD, PAYLOAD);
    }
    return model;
  }

  /** The file's chain: block number to block bytes, in chain order. */
  private static Map<Long, byte[]> chain(VirtualDisk d, String path) throws Exception {
    Volume v = d.volume();
    return v.withStableState(() -> {
      Inode ino = v.inodes.read(null, d.stat(path).inode());
      Map<Long, byte[]> out = new java.util.LinkedHashMap<>();
      for (InodeStore.ChainBlock cb : v.inodes.chain(null, ino.indirectBlock(),
          ino.extents().size() - Inode.INLINE_EXTENTS, ino.number())) {
        out.put(cb.blockNo(), v.journal().read(cb.blockNo(), BlockType.EXTENT).clone());
      }
      return out;
    });
  }

  @Test
  void anOverwriteInTheMiddleRewritesOneOrTwoChainBlocks() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(tmp.resolve("c.vde"), CreateOptions.ofSize(4L << 20).blockSize(BS))) {
      byte[] model = fragmented(d);
      Map<Long, byte[]> before = chain(d, "/f");
      assertThat(before).as("a long chain").hasSizeGreaterThan(30);
      assertThat(d.volume().superblock().incompat() & Superblock.INCOMPAT_LOOSE_EXTENT_CHAINS)
          .as("the fragmenting overwrites went in ascending order, so only the chain's end changed").isZero();

      for (int b : new int[] {400, 402, 7, 790}) {
        // Overwrite one block inside an extent of the original data: the extent splits in three.
        Map<Long, byte[]> prev = chain(d, "/f");
        byte[] patch = SeededBytes.bytes(5000 + b, PAYLOAD);
        d.write("/f", (long) b * PAYLOAD, patch, 0, PAYLOAD);
        System.arraycopy(patch, 0, model, b * PAYLOAD, PAYLOAD);
        Map<Long, byte[]> next = chain(d, "/f");
        List<Long> changed = new ArrayList<>();
        for (Map.Entry<Long, byte[]> e : next.entrySet()) {
          byte[] old = prev.get(e.getKey());
          if (old == null || !Arrays.equals(old, e.getValue())) {
            changed.add(e.getKey());
          }
        }
        assertThat(changed).as("chain blocks written by the overwrite of block %d (chain of %d)", b, next.size())
            .hasSizeBetween(1, 3);
        assertThat(next.keySet()).as("most chain blocks keep their place").containsAll(
            prev.keySet().stream().filter(k -> !changed.contains(k)).filter(next::containsKey).toList());
      }
      assertThat(d.volume().superblock().incompat() & Superblock.INCOMPAT_LOOSE_EXTENT_CHAINS)
          .as("splits inside the chain left loose blocks, and the superblock says so").isNotZero();
      assertThat(d.readFile("/f")).isEqualTo(model);
      TestVolumes.assertClean(d.verify(Progress.NONE), "after in-place chain updates");
    }
    try (VirtualDisk d = VirtualDisk.open(tmp.resolve("c.vde"))) {
      TestVolumes.assertClean(d.verify(Progress.NONE), "after reopen");
    }
  }

  @Test
  void shrinkingAndGrowingTheChainKeepsEveryByte() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(tmp.resolve("s.vde"), CreateOptions.ofSize(4L << 20).blockSize(BS))) {
      byte[] model = fragmented(d);
      // Cut the file in the middle of the chain, then grow it back by appends that fragment it again.
      int keep = 300 * PAYLOAD + 17;
      d.truncate("/f", keep);
      model = Arrays.copyOf(model, keep);
      Map<Integer, byte[]> appended = new HashMap<>();
      for (int i = 0; i < 50; i++) {
        byte[] more = SeededBytes.bytes(9000 + i, PAYLOAD / 2 + i);
        d.append("/f", more);
        appended.put(i, more);
        byte[] grown = Arrays.copyOf(model, model.length + more.length);
        System.arraycopy(more, 0, grown, model.length, more.length);
        model = grown;
        if (i % 10 == 0) {
          // Something else allocates in between, so the appends do not extend one extent.
          d.writeFile("/other" + i, SeededBytes.bytes(i, PAYLOAD));
        }
      }
      assertThat(d.readFile("/f")).isEqualTo(model);
      TestVolumes.assertClean(d.verify(Progress.NONE), "after truncate and appends");
    }
  }

  /**
   * The engine keeps decoded chains of long chains in memory between operations; random edits of two heavily
   * fragmented files (overwrites, appends, truncates, batches, a delete that frees an inode number for reuse)
   * must read back exactly as a plain byte-array model says, before and after a reopen.
   */
  @Test
  void randomEditsOfFragmentedFilesMatchAModel() throws Exception {
    Path img = tmp.resolve("r.vde");
    java.util.SplittableRandom rnd = new java.util.SplittableRandom(20261125);
    Map<String, byte[]> model = new HashMap<>();
    try (VirtualDisk d = VirtualDisk.create(img, CreateOptions.ofSize(8L << 20).blockSize(BS))) {
      model.put("/f", fragmented(d));
      d.writeFile("/g", SeededBytes.bytes(2, 300 * PAYLOAD));
      model.put("/g", SeededBytes.bytes(2, 300 * PAYLOAD));
      for (int b = 299; b >= 0; b -= 2) {
        byte[] patch = SeededBytes.bytes(7000 + b, 8);
        d.write("/g", (long) b * PAYLOAD + 3, patch, 0, patch.length);
        System.arraycopy(patch, 0, model.get("/g"), b * PAYLOAD + 3, patch.length);
      }
      for (int step = 0; step < 300; step++) {
        String path = rnd.nextBoolean() ? "/f" : "/g";
        byte[] cur = model.get(path);
        int kind = rnd.nextInt(10);
        if (kind < 6 && cur.length > 0) {
          int len = 1 + rnd.nextInt(3 * PAYLOAD);
          int pos = rnd.nextInt(cur.length);
          byte[] patch = SeededBytes.bytes(step, len);
          d.write(path, pos, patch, 0, len);
          byte[] next = Arrays.copyOf(cur, Math.max(cur.length, pos + len));
          System.arraycopy(patch, 0, next, pos, len);
          model.put(path, next);
        } else if (kind < 8) {
          byte[] more = SeededBytes.bytes(10_000 + step, 1 + rnd.nextInt(2 * PAYLOAD));
          byte[] more2 = SeededBytes.bytes(20_000 + step, 1 + rnd.nextInt(PAYLOAD));
          // Two appends in one batch: two transactions on the same chain, published one after the other.
          d.batch(x -> {
            x.append(path, more);
            x.append(path, more2);
          });
          byte[] next = Arrays.copyOf(cur, cur.length + more.length + more2.length);
          System.arraycopy(more, 0, next, cur.length, more.length);
          System.arraycopy(more2, 0, next, cur.length + more.length, more2.length);
          model.put(path, next);
        } else if (kind == 8) {
          int size = cur.length == 0 ? 0 : rnd.nextInt(cur.length);
          d.truncate(path, size);
          model.put(path, Arrays.copyOf(cur, size));
        } else {
          // Delete and recreate: the inode number may be reused, and the new file fragments again.
          d.delete(path);
          byte[] fresh = SeededBytes.bytes(30_000 + step, (100 + rnd.nextInt(200)) * PAYLOAD);
          d.writeFile(path, fresh);
          for (int b = 1; b < fresh.length / PAYLOAD; b += 2) {
            byte[] patch = SeededBytes.bytes(40_000 + b, 4);
            d.write(path, (long) b * PAYLOAD, patch, 0, patch.length);
            System.arraycopy(patch, 0, fresh, b * PAYLOAD, patch.length);
          }
          model.put(path, fresh);
        }
        assertThat(d.readFile(path)).as("step %d, %s", step, path).isEqualTo(model.get(path));
      }
      TestVolumes.assertClean(d.verify(Progress.NONE), "after random edits");
    }
    try (VirtualDisk d = VirtualDisk.open(img)) {
      for (Map.Entry<String, byte[]> e : model.entrySet()) {
        assertThat(d.readFile(e.getKey())).as("after reopen: %s", e.getKey()).isEqualTo(e.getValue());
      }
      TestVolumes.assertClean(d.verify(Progress.NONE), "after reopen");
    }
  }

  /**
   * Reads of a fragmented file reuse the extent list last joined from its cached chain. An overwrite inside one of
   * the first eight extents changes only the inline extents (one one-block extent for another, the chain as it
   * was): the next reads must see the new block, not the list joined before it.
   */
  @Test
  void anEditOfTheInlineExtentsAloneIsSeenByTheNextRead() throws Exception {
    Path img = tmp.resolve("inline.vde");
    try (VirtualDisk d = VirtualDisk.create(img, CreateOptions.ofSize(4L << 20).blockSize(BS))) {
      byte[] model = fragmented(d);
      Map<Long, byte[]> chainBefore = chain(d, "/f");
      for (int round = 0; round < 3; round++) {
        // Two reads: the first after a change caches the chain, the second keeps the joined list.
        assertThat(d.readFile("/f")).isEqualTo(model);
        assertThat(d.readFile("/f")).isEqualTo(model);
        long block = 2 + 2L * round;
        byte[] patch = SeededBytes.bytes(500 + round, 10);
        d.write("/f", block * PAYLOAD + 7, patch, 0, patch.length);
        System.arraycopy(patch, 0, model, (int) block * PAYLOAD + 7, patch.length);
        byte[] got = new byte[patch.length];
        d.read("/f", block * PAYLOAD + 7, got, 0, got.length);
        assertThat(got).as("round %d: the overwritten bytes", round).isEqualTo(patch);
        assertThat(d.readFile("/f")).as("round %d: the whole file", round).isEqualTo(model);
      }
      assertThat(chain(d, "/f")).as("the chain itself never changed").containsOnlyKeys(chainBefore.keySet());
      TestVolumes.assertClean(d.verify(Progress.NONE), "after inline edits");
    }
  }

  @Test
  void aCopyKeepsLooseChainsAndTheirFeatureBit() throws Exception {
    Path src = tmp.resolve("src.vde");
    byte[] model;
    try (VirtualDisk d = VirtualDisk.create(src, CreateOptions.ofSize(4L << 20).blockSize(BS))) {
      model = fragmented(d);
      d.write("/f", 400L * PAYLOAD + PAYLOAD / 2, new byte[PAYLOAD], 0, PAYLOAD);
      Arrays.fill(model, 400 * PAYLOAD + PAYLOAD / 2, 401 * PAYLOAD + PAYLOAD / 2, (byte) 0);
      assertThat(d.volume().superblock().incompat() & Superblock.INCOMPAT_LOOSE_EXTENT_CHAINS).isNotZero();
    }
    Path dst = tmp.resolve("dst.vde");
    dev.vde.module.copy.ExtentAwareCopy.copy(src, dst, dev.vde.module.copy.CopyOptions.defaults());
    try (VirtualDisk d = VirtualDisk.open(dst)) {
      assertThat(d.volume().superblock().incompat() & Superblock.INCOMPAT_LOOSE_EXTENT_CHAINS).isNotZero();
      assertThat(d.readFile("/f")).isEqualTo(model);
      TestVolumes.assertClean(d.verify(Progress.NONE), "copy of a volume with loose chains");
    }
  }

  @Test
  void theVerifierRefusesLooseChainsOnAVolumeWithoutTheFeatureBit() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(tmp.resolve("v.vde"), CreateOptions.ofSize(4L << 20).blockSize(BS))) {
      fragmented(d);
      // Two one-block extents become one two-block extent: the chain block holding them loses an extent.
      d.write("/f", 400L * PAYLOAD + PAYLOAD / 2, new byte[PAYLOAD], 0, PAYLOAD);
      assertThat(d.volume().superblock().incompat() & Superblock.INCOMPAT_LOOSE_EXTENT_CHAINS).isNotZero();
      TestVolumes.assertClean(d.verify(Progress.NONE), "with the bit");
      d.changeFormat(tx -> {
        Superblock sb = tx.superblock();
        tx.setSuperblock(sb.withIncompat(sb.incompat() & ~Superblock.INCOMPAT_LOOSE_EXTENT_CHAINS));
        return null;
      });
      List<Problem> problems = d.verify(Progress.NONE).problems();
      assertThat(problems).as("loose chain blocks without the bit").isNotEmpty();
      assertThat(problems.toString()).contains("INCOMPAT_LOOSE_EXTENT_CHAINS");
    }
  }
}
