package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeNotFoundException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.Superblock;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A transaction whose file data went in place is replayed only if each listed block carries the checksum AND the
 * generation (owning inode) it was written with. The checksum covers the payload only, so by the checksum alone
 * a reused block that still held an older block with the same payload (zeros, say) passed for the new write
 * although that write was lost, and the replayed file mapped a block whose trailer names another inode.
 */
class DataCheckGenerationTest {
  private static final int BS = 512;
  private static final int PAYLOAD = BS - BlockCodec.TRAILER_SIZE;
  private static final byte[] OLD_C = SeededBytes.bytes(42, 3 * PAYLOAD);
  /** 200 zero blocks: written in place and listed by data checks (more than journaled data, under a sync). */
  private static final byte[] NEW_C = new byte[200 * PAYLOAD];

  /**
   * Fills most of the volume with a zero file (inode 3), deletes it and checkpoints so that its blocks are free
   * again, gives inode 3 to a directory, writes /c (inode 4), arms the cut, and replaces /c with zero blocks,
   * which land on the deleted file's blocks. Returns the write indices {@code [first, end)} of the replace, or
   * null when the cut came inside it.
   */
  private static long[] run(PowerLossDevice dev, long cut) throws IOException {
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(BS));
    d.writeFile("/keep", new byte[10]);
    long free = d.volume().bitmap().allocatableFree();
    d.writeFile("/a", new byte[(int) ((free - 40) * PAYLOAD)]);
    d.delete("/a");
    d.checkpoint();
    d.mkdir("/d");
    d.writeFile("/c", OLD_C);
    long start = dev.writeCount();
    if (cut >= 0) {
      dev.crashAt(cut);
    }
    try {
      d.writeFile("/c", NEW_C);
    } catch (IOException e) {
      if (dev.isCut()) {
        return null;
      }
      throw e;
    }
    long end = dev.writeCount();
    d.close();
    return new long[] {start, end};
  }

  @Test
  void aCutDuringAReplaceOntoBlocksThatHeldTheSamePayload_leavesTheOldOrTheNewFile() throws IOException {
    long[] replace = run(new PowerLossDevice("probe"), -1);
    List<String> bad = new ArrayList<>();
    int cases = 0;
    for (long cut = replace[0]; cut < replace[1]; cut++) {
      PowerLossDevice dev = new PowerLossDevice("cut " + cut);
      assertThat(run(dev, cut)).as("cut %d falls inside the replace", cut).isNull();
      List<KeepPolicy> policies = new ArrayList<>(List.of(KeepPolicy.NONE, KeepPolicy.ALL));
      for (long seed = 0; seed < 16; seed++) {
        policies.add(KeepPolicy.randomSubset(seed));
      }
      for (KeepPolicy policy : policies) {
        cases++;
        try (VirtualDisk r = TestVolumes.open(dev.powerLoss(policy))) {
          byte[] c = r.readFile("/c");
          assertThat(Arrays.equals(c, OLD_C) || Arrays.equals(c, NEW_C)).as("/c is the old or the new file")
              .isTrue();
          TestVolumes.assertClean(r.verify(Progress.NONE), "after recovery");
        } catch (AssertionError | IOException | RuntimeException e) {
          bad.add("cut " + cut + ", " + policy + ": " + String.valueOf(e.getMessage()).lines().findFirst()
              .orElse(""));
        }
      }
    }
    assertThat(cases).as("cuts inside the replace").isPositive();
    assertThat(bad).isEmpty();
  }

  // ------------------------------------------------------------------------------------------------ the rule itself

  /** A volume whose last transaction (in the WAL only, durable) wrote /f's 100 blocks in place, checked. */
  private static byte[] committedNotCheckpointed(byte[] content) throws IOException {
    PowerLossDevice dev = new PowerLossDevice("data checks");
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(BS));
    d.writeFile("/f", content);
    return dev.durableSnapshot();
  }

  /** The blocks of the image's WAL transaction that holds data checks: its descriptors, in order. */
  private record WalView(Superblock sb, List<Long> descriptors, long commit) {}

  private static WalView wal(byte[] image) throws IOException {
    Superblock sb = SuperblockSlots.load(PowerLossDevice.fromImage(image)).superblock();
    List<Long> descriptors = new ArrayList<>();
    for (long p = 0; p < sb.walBlocks(); p++) {
      long at = sb.walStart() + p;
      byte[] blk = block(image, at);
      if (BlockCodec.checksumMatches(blk) && Bytes.i64(blk, 8) == sb.walSalt()) {
        if (BlockCodec.storedTag(blk) == BlockType.WAL_COMMIT.tag() && !descriptors.isEmpty()
            && hasDataChecks(image, descriptors)) {
          return new WalView(sb, descriptors, at);
        }
        if (BlockCodec.storedTag(blk) == BlockType.WAL_DESCRIPTOR.tag()) {
          if (!descriptors.isEmpty() && Bytes.i64(block(image, descriptors.get(0)), 0) != Bytes.i64(blk, 0)) {
            descriptors.clear();
          }
          descriptors.add(at);
        }
      }
    }
    throw new AssertionError("no WAL transaction with data checks in the image");
  }

  private static boolean hasDataChecks(byte[] image, List<Long> descriptors) {
    return !dataChecks(image, descriptors).isEmpty();
  }

  /** Blocks named by data checks, and the checkGeneration field of each descriptor that has some. */
  private static List<long[]> dataChecks(byte[] image, List<Long> descriptors) {
    List<long[]> out = new ArrayList<>();
    for (long at : descriptors) {
      byte[] d = block(image, at);
      for (int i = 0; i < Bytes.u32(d, 16); i++) {
        long ref = Bytes.i64(d, WalCodec.DESCRIPTOR_HEADER + i * WalCodec.ENTRY_SIZE);
        if ((ref & WalCodec.DATA_CHECK_FLAG) != 0) {
          out.add(new long[] {ref & ~WalCodec.DATA_CHECK_FLAG, Bytes.i64(d, WalCodec.CHECK_GENERATION_OFFSET)});
        }
      }
    }
    return out;
  }

  private static byte[] block(byte[] image, long blockNo) {
    return Arrays.copyOfRange(image, (int) (blockNo * BS), (int) ((blockNo + 1) * BS));
  }

  private static void put(byte[] image, long blockNo, byte[] b) {
    System.arraycopy(b, 0, image, (int) (blockNo * BS), BS);
  }

  /**
   * Rewrites the transaction as an engine that kept {@code checkGeneration} reserved wrote it: the field zero in
   * every descriptor, each descriptor resealed, and the commit block's chain recomputed to match.
   */
  private static void asWrittenByAnOlderEngine(byte[] image, WalView w) {
    List<Long> chain = new ArrayList<>();
    long at = w.descriptors().get(0);
    while (at < w.commit()) {
      byte[] d = block(image, at);
      Bytes.put64(d, WalCodec.CHECK_GENERATION_OFFSET, 0);
      chain.add(BlockCodec.seal(d, BlockType.WAL_DESCRIPTOR, BlockCodec.storedGeneration(d)));
      put(image, at, d);
      at++;
      for (int i = 0; i < Bytes.u32(d, 16); i++) {
        if ((Bytes.i64(d, WalCodec.DESCRIPTOR_HEADER + i * WalCodec.ENTRY_SIZE) & WalCodec.DATA_CHECK_FLAG) == 0) {
          chain.add(BlockCodec.storedChecksum(block(image, at++)));
        }
      }
    }
    byte[] c = block(image, w.commit());
    Bytes.put64(c, 24, WalCodec.chainHash(chain));
    BlockCodec.seal(c, BlockType.WAL_COMMIT, BlockCodec.storedGeneration(c));
    put(image, w.commit(), c);
  }

  @Test
  void everyDescriptorWithDataChecks_recordsTheOwnersGeneration_andTheTransactionReplays() throws IOException {
    byte[] content = SeededBytes.bytes(7, 100 * PAYLOAD);
    byte[] image = committedNotCheckpointed(content);
    WalView w = wal(image);
    List<long[]> checks = dataChecks(image, w.descriptors());
    assertThat(checks).as("the 100 blocks are listed").hasSize(100);
    int owner = BlockCodec.storedGeneration(block(image, checks.get(0)[0]));
    for (long[] c : checks) {
      assertThat(c[1]).as("checkGeneration of the descriptor listing block %d", c[0])
          .isEqualTo(WalCodec.CHECK_GENERATION_PRESENT | Integer.toUnsignedLong(owner));
    }
    try (VirtualDisk d = TestVolumes.open(PowerLossDevice.fromImage(image))) {
      assertThat(d.readFile("/f")).isEqualTo(content);
    }
  }

  @Test
  void aListedBlockWithTheRightChecksumButAnotherOwner_makesRecoveryEndTheWalBeforeThatTransaction()
      throws IOException {
    byte[] content = SeededBytes.bytes(8, 100 * PAYLOAD);
    byte[] image = committedNotCheckpointed(content);
    long victim = dataChecks(image, wal(image).descriptors()).get(50)[0];
    byte[] b = block(image, victim);
    long checksum = BlockCodec.storedChecksum(b);
    // The same payload under another owner: what a reused block still holds when the new write never came.
    BlockCodec.seal(b, BlockType.DATA, BlockCodec.storedGeneration(b) + 1);
    assertThat(BlockCodec.storedChecksum(b)).as("the checksum alone cannot tell").isEqualTo(checksum);
    put(image, victim, b);

    try (VirtualDisk d = TestVolumes.open(PowerLossDevice.fromImage(image))) {
      assertThatThrownBy(() -> d.readFile("/f")).as("the create of /f is not replayed")
          .isInstanceOf(VdeNotFoundException.class);
      TestVolumes.assertClean(d.verify(Progress.NONE), "after recovery");
    }
  }

  @Test
  void aTransactionWrittenWithoutCheckGenerations_stillReplays_byChecksum() throws IOException {
    byte[] content = SeededBytes.bytes(9, 100 * PAYLOAD);
    byte[] image = committedNotCheckpointed(content);
    WalView w = wal(image);
    asWrittenByAnOlderEngine(image, w);
    assertThat(dataChecks(image, w.descriptors())).allSatisfy(c -> assertThat(c[1]).isZero());

    try (VirtualDisk d = TestVolumes.open(PowerLossDevice.fromImage(image))) {
      assertThat(d.readFile("/f")).isEqualTo(content);
      TestVolumes.assertClean(d.verify(Progress.NONE), "after recovery");
    }
  }

  @Test
  void checksOfSeveralOwners_splitDescriptors_withinTheBoundTheWalPlansWith() {
    int per = WalCodec.entriesPerDescriptor(BS);
    List<BlockImage> images = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      byte[] im = new byte[BS];
      BlockCodec.seal(im, BlockType.DIRECTORY, 1);
      images.add(new BlockImage(100 + i, im));
    }
    List<DataCheck> checks = new ArrayList<>();
    int[] runs = {2, per + 5, 1, 7};
    long blockNo = 1000;
    for (int r = 0; r < runs.length; r++) {
      for (int i = 0; i < runs[r]; i++) {
        checks.add(new DataCheck(blockNo++, 77, 10 + r));
      }
    }
    byte[] tx = WalCodec.encode(BS, 5, 99, images, checks);
    int blocks = tx.length / BS;
    assertThat(WalCodec.checkRuns(checks)).isEqualTo(runs.length);
    assertThat((long) blocks).as("the planning bound covers the encoding")
        .isLessThanOrEqualTo(WalCodec.blocksNeeded(BS, images.size(), checks.size(), runs.length));
    int seen = 0;
    for (int k = 0; k < blocks; k++) {
      byte[] b = Arrays.copyOfRange(tx, k * BS, (k + 1) * BS);
      if (BlockCodec.storedTag(b) != BlockType.WAL_DESCRIPTOR.tag()) {
        continue;
      }
      Long gen = null;
      for (int i = 0; i < Bytes.u32(b, 16); i++) {
        long ref = Bytes.i64(b, WalCodec.DESCRIPTOR_HEADER + i * WalCodec.ENTRY_SIZE);
        if ((ref & WalCodec.DATA_CHECK_FLAG) != 0) {
          DataCheck c = checks.get(seen++);
          assertThat(ref & ~WalCodec.DATA_CHECK_FLAG).isEqualTo(c.blockNo());
          gen = (long) c.generation();
          assertThat(Bytes.i64(b, WalCodec.CHECK_GENERATION_OFFSET))
              .isEqualTo(WalCodec.CHECK_GENERATION_PRESENT | gen);
        }
      }
      if (gen == null) {
        assertThat(Bytes.i64(b, WalCodec.CHECK_GENERATION_OFFSET)).as("a descriptor of images only").isZero();
      }
    }
    assertThat(seen).as("every check encoded once, in order").isEqualTo(checks.size());
  }
}
