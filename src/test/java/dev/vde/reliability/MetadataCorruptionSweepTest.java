package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.testing.FsModel;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Every single-byte corruption (XOR 0xFF, and XOR 0x01) of every byte of every metadata block of the small seed
 * images ({@link FuzzCorpus}, 512-byte blocks): superblocks, region directory, bitmap, the inode-table blocks in
 * use, directory and extent blocks, the migration checkpoint blocks and new inode table of the mid-migration
 * image, and the WAL of the image with a pending WAL. Each damaged image is opened writable (recovery included),
 * every directory listed and every file read, then verified and asked for info ({@link ImageProbe}). Allowed: a
 * {@link dev.vde.VdeCorruptedException} (damage must not be reported as another kind of failure), a verify
 * problem or an open-time warning, or everything reading back equal to the model (a repaired superblock copy, or
 * bytes nothing reads). For a WAL block, a tree equal to an earlier
 * state since the last checkpoint is also allowed: damage there is indistinguishable from a commit that never
 * completed, and recovery keeps the prefix before it. Never a raw JDK exception, a hang, or wrong content
 * without any report.
 *
 * <p>The default run sweeps every byte of both superblock copies and of one block of each other kind, and a
 * seeded sample of offsets elsewhere; the {@code crash-exhaustive} tag sweeps every byte of every block.
 */
class MetadataCorruptionSweepTest {
  static final long SEED = Long.getLong("vde.reliability.seed", 0x5EED_2025L);
  /** Sampled byte offsets per metadata block in the default run (besides the fully swept blocks). */
  static final int SAMPLED_OFFSETS = Integer.getInteger("vde.sweep.offsets", 12);
  private static final int[] MASKS = {0xFF, 0x01};

  /** One metadata block of an image, with the kind of structure it holds. */
  record MetaBlock(long blockNo, String kind) {}

  @Test
  void everyMetadataBlockKind_isFoundInTheSeedImages() throws IOException {
    TreeMap<String, Integer> kinds = new TreeMap<>();
    for (FuzzCorpus.Seed s : FuzzCorpus.seeds().values()) {
      for (MetaBlock b : metadataBlocks(s.image())) {
        kinds.merge(b.kind(), 1, Integer::sum);
      }
    }
    System.out.println("[reliability] metadata blocks in the seed images by kind: " + kinds);
    assertThat(kinds.keySet()).contains("superblock", "region directory", "bitmap", "inode table", "directory",
        "extent", "migration checkpoint", "new inode table", "WAL");
  }

  @Test
  void sampledSingleByteCorruptions_ofMetadataBlocks_areReportedOrHarmless() throws IOException {
    sweep(false);
  }

  @Tag("crash-exhaustive")
  @Test
  void everySingleByteCorruption_ofEveryMetadataBlock_isReportedOrHarmless() throws IOException {
    sweep(true);
  }

  private void sweep(boolean everyByte) throws IOException {
    Findings f = new Findings((everyByte ? "every" : "sampled") + " single-byte corruption of metadata, seed " + SEED);
    TreeMap<String, long[]> outcomes = new TreeMap<>();
    SplittableRandom rnd = new SplittableRandom(SEED);
    for (FuzzCorpus.Seed seed : FuzzCorpus.seeds().values()) {
      List<MetaBlock> blocks = metadataBlocks(seed.image());
      Map<String, Boolean> kindSwept = new LinkedHashMap<>();
      for (MetaBlock b : blocks) {
        boolean full = everyByte || b.kind().equals("superblock") || kindSwept.putIfAbsent(b.kind(), true) == null;
        List<Integer> offsets = new ArrayList<>();
        for (int off = 0; off < 512; off++) {
          offsets.add(off);
        }
        if (!full) {
          Collections.shuffle(offsets, new Random(rnd.nextLong()));
          offsets = offsets.subList(0, SAMPLED_OFFSETS);
        }
        for (int off : offsets) {
          for (int mask : MASKS) {
            byte[] damaged = seed.image().clone();
            damaged[(int) (b.blockNo() * 512 + off)] ^= (byte) mask;
            String ctx = seed.name() + " " + b.kind() + " block " + b.blockNo() + " byte " + off + " xor 0x"
                + Integer.toHexString(mask);
            String verdict = judge(ImageProbe.probe(damaged, false), seed, b, ctx, f);
            outcomes.computeIfAbsent(verdict, k -> new long[1])[0]++;
          }
        }
      }
    }
    StringBuilder sb = new StringBuilder();
    outcomes.forEach((k, v) -> sb.append(k).append('=').append(v[0]).append(' '));
    System.out.println("[reliability] corruption sweep outcomes: " + sb.toString().trim());
    f.report("corruptions", everyByte ? 100_000 : 2_000);
  }

  /** Records a failure for a forbidden outcome; returns the outcome's class for the summary. */
  private static String judge(ImageProbe.Outcome o, FuzzCorpus.Seed seed, MetaBlock b, String ctx, Findings f) {
    List<String> bad = new ArrayList<>();
    for (String m : o.failures) {
      bad.add(ctx + ": " + m);
    }
    for (String m : o.misclassified) {
      // The error contract: damage is a VdeCorruptedException naming the block, not another kind of failure.
      bad.add(ctx + ": damage reported as another VdeException than VdeCorruptedException: " + m);
    }
    String verdict;
    if (!bad.isEmpty()) {
      verdict = "failure";
    } else if (o.opened && o.readEverything && matches(o.tree, seed, b)) {
      verdict = o.signalled() ? "intact-and-reported" : "intact";
    } else if (o.signalled()) {
      verdict = o.opened ? "reported" : "refused";
    } else {
      verdict = "silent-wrong-content";
      bad.add(ctx + ": the volume opened and read back differently from the model without any report: "
          + (o.tree == null ? "no tree" : o.tree.diff(seed.model().tree)));
    }
    f.add(bad);
    return verdict;
  }

  private static boolean matches(FsModel tree, FuzzCorpus.Seed seed, MetaBlock b) {
    if (tree.sameAs(seed.model().tree)) {
      return true;
    }
    if (b.kind().equals("WAL")) {
      for (VolumeModel m : seed.history()) {
        if (tree.sameAs(m.tree)) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * The metadata blocks of an image, found the way an fsck would: both superblock slots, then the regions the
   * newest valid superblock and its region directory name, then every block outside those regions whose trailer
   * is intact and says directory or extent block (a stale one left in free space is harmless to damage, which the
   * sweep then confirms).
   */
  static List<MetaBlock> metadataBlocks(byte[] image) throws IOException {
    int bs = 512;
    List<MetaBlock> out = new ArrayList<>();
    Superblock sb = null;
    for (long b = 0; b < 2; b++) {
      out.add(new MetaBlock(b, "superblock"));
      Superblock s = Superblock.read(block(image, b, bs), b, "sweep");
      if (sb == null || s.sequence() > sb.sequence()) {
        sb = s;
      }
    }
    List<byte[]> rdBlocks = new ArrayList<>();
    for (int i = 0; i < sb.regionDirBlocks(); i++) {
      out.add(new MetaBlock(sb.regionDirStart() + i, "region directory"));
      rdBlocks.add(block(image, sb.regionDirStart() + i, bs));
    }
    RegionDirectory rd = RegionDirectory.read(rdBlocks, sb.regionDirStart(), "sweep");
    boolean[] claimed = new boolean[image.length / bs];
    for (MetaBlock m : out) {
      claimed[(int) m.blockNo()] = true;
    }
    for (RegionDirectory.Entry e : rd.entries()) {
      String kind;
      long blocks = e.blocks();
      if (e.tag() == RegionDirectory.TAG_BITMAP) {
        kind = "bitmap";
      } else if (e.tag() == RegionDirectory.TAG_INODES) {
        kind = "inode table";
        blocks = Math.min(blocks, sb.inodeTableInitBlocks());
      } else if (e.tag() == RegionDirectory.TAG_INODES_NEW) {
        kind = "new inode table";
      } else if (e.tag() == RegionDirectory.TAG_CHECKPOINT) {
        kind = "migration checkpoint";
      } else if (e.tag() == RegionDirectory.TAG_WAL) {
        kind = "WAL";
      } else {
        // Module regions: allocated, but no module reads or writes them yet.
        for (long b = e.start(); b < e.end(); b++) {
          claimed[(int) b] = true;
        }
        continue;
      }
      for (long b = e.start(); b < e.end(); b++) {
        claimed[(int) b] = true;
        boolean live = b < e.start() + blocks;
        byte[] blk = block(image, b, bs);
        boolean written = !isZero(blk);
        // Unwritten blocks of the WAL, the checkpoint region and the new table hold nothing to damage.
        if (live && (written || kind.equals("bitmap") || kind.equals("inode table"))) {
          out.add(new MetaBlock(b, kind));
        }
      }
    }
    for (long b = 0; b < claimed.length; b++) {
      if (claimed[(int) b]) {
        continue;
      }
      byte[] blk = block(image, b, bs);
      if (isZero(blk) || !BlockCodec.checksumMatches(blk)) {
        continue;
      }
      BlockType t = BlockType.fromTag(BlockCodec.storedTag(blk));
      if (t == BlockType.DIRECTORY) {
        out.add(new MetaBlock(b, "directory"));
      } else if (t == BlockType.EXTENT) {
        out.add(new MetaBlock(b, "extent"));
      }
    }
    return out;
  }

  private static byte[] block(byte[] image, long b, int bs) {
    return Arrays.copyOfRange(image, (int) (b * bs), (int) ((b + 1) * bs));
  }

  private static boolean isZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }
}
