package dev.vde.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.PowerLossDevice.PowerCutException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * The crash tests are only as trustworthy as this device, so every promise it makes is checked here: what reads
 * see, what sync makes durable, and exactly what each keep policy lets survive.
 */
class PowerLossDeviceTest {
  private static final int BLOCK = 512;

  private static byte[] block(int fill) {
    byte[] b = new byte[BLOCK];
    Arrays.fill(b, (byte) fill);
    return b;
  }

  private static void write(PowerLossDevice d, long pos, byte[] data) throws IOException {
    d.write(pos, ByteBuffer.wrap(data));
  }

  private static byte[] read(PowerLossDevice d, long pos, int len) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(len);
    d.read(pos, buf);
    assertThat(buf.remaining()).as("read must fill the whole buffer").isZero();
    return buf.array();
  }

  private static byte[] blockOf(byte[] image, int blockNo) {
    return Arrays.copyOfRange(image, blockNo * BLOCK, (blockNo + 1) * BLOCK);
  }

  /** A device with blocks 0..n-1 synced as fill 0x10+i, then pending writes of fill 0x80+i to the same blocks. */
  private static PowerLossDevice syncedThenPending(int n) throws IOException {
    PowerLossDevice d = new PowerLossDevice();
    for (int i = 0; i < n; i++) {
      write(d, (long) i * BLOCK, block(0x10 + i));
    }
    d.sync();
    for (int i = 0; i < n; i++) {
      write(d, (long) i * BLOCK, block(0x80 + i));
    }
    return d;
  }

  /** LOSE_ONE keeps every pending piece but the one named, counting pieces over all pending writes in order. */
  @Test
  void loseOne_keepsEveryPendingPieceButOne() throws IOException {
    PowerLossDevice d = syncedThenPending(2);
    byte[] two = new byte[2 * BLOCK];
    Arrays.fill(two, 0, BLOCK, (byte) 0x90);
    Arrays.fill(two, BLOCK, 2 * BLOCK, (byte) 0x91);
    write(d, 2L * BLOCK, two);
    assertThat(d.pendingPieces(BLOCK)).as("two one-block writes and one two-block write").isEqualTo(4);
    for (int lost = 0; lost < 4; lost++) {
      byte[] image = d.powerLoss(KeepPolicy.loseOne(BLOCK, lost)).snapshot();
      byte[][] expected = {lost == 0 ? block(0x10) : block(0x80), lost == 1 ? block(0x11) : block(0x81),
          lost == 2 ? block(0) : block(0x90), lost == 3 ? block(0) : block(0x91)};
      for (int b = 0; b < 4; b++) {
        assertThat(blockOf(image, b)).as("piece %d lost, block %d", lost, b).isEqualTo(expected[b]);
      }
    }
    assertThatThrownBy(() -> d.powerLoss(KeepPolicy.loseOne(BLOCK, 4))).isInstanceOf(IllegalArgumentException.class);
  }

  // ------------------------------------------------------------------------------------------------ reads & writes

  @Test
  void newDevice_isEmpty_andReadsZeros() throws IOException {
    PowerLossDevice d = new PowerLossDevice();
    assertThat(d.size()).isZero();
    assertThat(read(d, 1000, 100)).containsOnly(0);
    assertThat(d.writeCount()).isZero();
    assertThat(d.syncCount()).isZero();
    assertThat(d.pendingWriteCount()).isZero();
  }

  @Test
  void pendingWrites_areVisibleToReads_beforeSync() throws IOException {
    PowerLossDevice d = new PowerLossDevice();
    write(d, 3 * BLOCK, block(0x42));
    assertThat(d.pendingWriteCount()).isEqualTo(1);
    assertThat(read(d, 3 * BLOCK, BLOCK)).isEqualTo(block(0x42));
    assertThat(d.size()).isEqualTo(4 * BLOCK);
    assertThat(read(d, 0, 3 * BLOCK)).as("hole before the write").containsOnly(0);
    assertThat(d.durableSnapshot()).as("nothing durable yet").isEmpty();
  }

  @Test
  void readPastTheEnd_readsZero_andDoesNotGrow() throws IOException {
    PowerLossDevice d = new PowerLossDevice();
    write(d, 0, block(0x11));
    byte[] got = read(d, BLOCK / 2, BLOCK);
    assertThat(Arrays.copyOfRange(got, 0, BLOCK / 2)).containsOnly(0x11);
    assertThat(Arrays.copyOfRange(got, BLOCK / 2, BLOCK)).containsOnly(0);
    assertThat(d.size()).isEqualTo(BLOCK);
  }

  @Test
  void writesAndReads_spanningPageBoundaries_roundTrip() throws IOException {
    PowerLossDevice d = new PowerLossDevice();
    byte[] data = SeededBytes.bytes(7, 3 * PowerLossDevice.PAGE_SIZE + 123);
    long pos = PowerLossDevice.PAGE_SIZE - 17;
    write(d, pos, data);
    assertThat(read(d, pos, data.length)).isEqualTo(data);
    assertThat(Arrays.copyOfRange(d.snapshot(), (int) pos, (int) pos + data.length)).isEqualTo(data);
  }

  @Test
  void laterWrite_overridesEarlier_whereTheyOverlap() throws IOException {
    PowerLossDevice d = new PowerLossDevice();
    write(d, 0, block(0x01));
    write(d, BLOCK / 4, new byte[] {9, 9, 9});
    byte[] got = read(d, 0, BLOCK);
    assertThat(got[BLOCK / 4 - 1]).isEqualTo((byte) 1);
    assertThat(Arrays.copyOfRange(got, BLOCK / 4, BLOCK / 4 + 3)).containsOnly(9);
    assertThat(got[BLOCK / 4 + 3]).isEqualTo((byte) 1);
  }

  @Test
  void writeConsumesTheBuffer_andCopiesIt() throws IOException {
    PowerLossDevice d = new PowerLossDevice();
    byte[] data = block(0x33);
    ByteBuffer src = ByteBuffer.wrap(data);
    d.write(0, src);
    assertThat(src.hasRemaining()).as("write must consume the buffer").isFalse();
    Arrays.fill(data, (byte) 0x44);
    assertThat(read(d, 0, BLOCK)).as("later changes to the caller's array must not leak in").containsOnly(0x33);
  }

  @Test
  void storage_isSparse() throws IOException {
    PowerLossDevice d = new PowerLossDevice();
    d.truncate(64L * 1024 * 1024);
    write(d, 64L * 1024 * 1024 - BLOCK, block(0x55));
    write(d, 0, block(0x56));
    d.sync();
    assertThat(d.size()).isEqualTo(64L * 1024 * 1024);
    assertThat(d.allocatedPages()).as("a 64 MiB device with two written blocks").isEqualTo(2);
    assertThat(read(d, 32L * 1024 * 1024, BLOCK)).containsOnly(0);
  }

  @Test
  void truncate_shrinkThenGrow_readsZerosInTheRegrownPart() throws IOException {
    PowerLossDevice d = new PowerLossDevice();
    write(d, 0, block(0x21));
    write(d, BLOCK, block(0x22));
    d.truncate(BLOCK + 10);
    d.truncate(4 * BLOCK);
    assertThat(d.size()).isEqualTo(4 * BLOCK);
    byte[] second = read(d, BLOCK, BLOCK);
    assertThat(Arrays.copyOfRange(second, 0, 10)).containsOnly(0x22);
    assertThat(Arrays.copyOfRange(second, 10, BLOCK)).containsOnly(0);
  }

  @Test
  void truncate_survivesPowerLoss_evenUnsynced_whileDataWritesDoNot() throws IOException {
    PowerLossDevice d = new PowerLossDevice();
    d.truncate(8 * BLOCK);
    write(d, 0, block(0x12));
    PowerLossDevice after = d.powerLoss(KeepPolicy.NONE);
    assertThat(after.size()).isEqualTo(8 * BLOCK);
    assertThat(read(after, 0, BLOCK)).containsOnly(0);
  }

  @Test
  void copyTo_movesBytesBetweenDevices() throws IOException {
    PowerLossDevice src = new PowerLossDevice();
    byte[] data = SeededBytes.bytes(3, 5000);
    write(src, 100, data);
    PowerLossDevice dst = new PowerLossDevice();
    src.copyTo(100, dst, 7, data.length, ByteBuffer.allocate(1024));
    assertThat(read(dst, 7, data.length)).isEqualTo(data);
  }

  @Test
  void fromImage_holdsTheImage_durably() throws IOException {
    byte[] image = SeededBytes.bytes(11, 3 * BLOCK + 5);
    PowerLossDevice d = PowerLossDevice.fromImage(image);
    assertThat(d.size()).isEqualTo(image.length);
    assertThat(d.snapshot()).isEqualTo(image);
    assertThat(d.powerLoss(KeepPolicy.NONE).snapshot()).isEqualTo(image);
    image[0]++;
    assertThat(d.snapshot()[0]).as("the device copies the image").isNotEqualTo(image[0]);
  }

  @Test
  void closedDevice_refusesIo_butCanStillBeInspected() throws IOException {
    PowerLossDevice d = new PowerLossDevice();
    write(d, 0, block(0x66));
    d.close();
    assertThatThrownBy(() -> read(d, 0, BLOCK)).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> write(d, 0, block(1))).isInstanceOf(IOException.class);
    assertThat(d.powerLoss(KeepPolicy.ALL).snapshot()).isEqualTo(block(0x66));
  }

  // ------------------------------------------------------------------------------------------------ sync

  @Test
  void sync_makesEveryEarlierWriteDurable() throws IOException {
    PowerLossDevice d = new PowerLossDevice();
    write(d, 0, block(0x01));
    write(d, BLOCK, block(0x02));
    d.sync();
    write(d, 2 * BLOCK, block(0x03));
    assertThat(d.syncCount()).isEqualTo(1);
    assertThat(d.pendingWriteCount()).isEqualTo(1);
    assertThat(d.writeCount()).isEqualTo(3);
    byte[] durable = d.durableSnapshot();
    assertThat(durable).hasSize(2 * BLOCK);
    assertThat(blockOf(durable, 0)).containsOnly(0x01);
    assertThat(blockOf(durable, 1)).containsOnly(0x02);
    byte[] lost = d.powerLoss(KeepPolicy.NONE).snapshot();
    assertThat(lost).isEqualTo(durable);
  }

  // ------------------------------------------------------------------------------------------------ policies

  @Test
  void policyNone_keepsOnlyTheSyncedImage() throws IOException {
    PowerLossDevice d = syncedThenPending(4);
    byte[] img = d.powerLoss(KeepPolicy.NONE).snapshot();
    for (int i = 0; i < 4; i++) {
      assertThat(blockOf(img, i)).as("block %d", i).containsOnly(0x10 + i);
    }
  }

  @Test
  void policyAll_keepsEveryPendingWrite() throws IOException {
    PowerLossDevice d = syncedThenPending(4);
    assertThat(d.powerLoss(KeepPolicy.ALL).snapshot()).isEqualTo(d.snapshot());
  }

  @Test
  void policyPrefix_keepsExactlyTheFirstNWritesInOrder() throws IOException {
    PowerLossDevice d = syncedThenPending(5);
    for (int n = 0; n <= 5; n++) {
      byte[] img = d.powerLoss(KeepPolicy.prefix(n)).snapshot();
      for (int i = 0; i < 5; i++) {
        int expected = i < n ? 0x80 + i : 0x10 + i;
        assertThat(blockOf(img, i)).as("PREFIX(%d) block %d", n, i).containsOnly(expected);
      }
    }
  }

  @Test
  void policyPrefix_appliesOverlappingWritesInIssueOrder() throws IOException {
    PowerLossDevice d = new PowerLossDevice();
    write(d, 0, block(0x01));
    write(d, 0, block(0x02));
    write(d, 0, block(0x03));
    assertThat(d.powerLoss(KeepPolicy.prefix(2)).snapshot()).containsOnly(0x02);
    assertThat(d.powerLoss(KeepPolicy.prefix(3)).snapshot()).containsOnly(0x03);
  }

  @Test
  void policyPrefix_longerThanPending_isRejected() throws IOException {
    PowerLossDevice d = syncedThenPending(2);
    assertThatThrownBy(() -> d.powerLoss(KeepPolicy.prefix(3))).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void policyRandomSubset_keepsWholeWritesOnly_andIsReproducibleFromItsSeed() throws IOException {
    int n = 64;
    PowerLossDevice d = syncedThenPending(n);
    for (long seed : new long[] {1, 2, 42, -7}) {
      byte[] img = d.powerLoss(KeepPolicy.randomSubset(seed)).snapshot();
      int kept = 0;
      for (int i = 0; i < n; i++) {
        byte[] b = blockOf(img, i);
        boolean isNew = Arrays.equals(b, block(0x80 + i));
        boolean isOld = Arrays.equals(b, block(0x10 + i));
        assertThat(isNew || isOld).as("seed %d block %d is whole old or whole new", seed, i).isTrue();
        kept += isNew ? 1 : 0;
      }
      // With 64 independent coin flips, keeping none or all would mean the subset is not random at all.
      assertThat(kept).as("seed %d kept writes", seed).isBetween(1, n - 1);
      assertThat(d.powerLoss(KeepPolicy.randomSubset(seed)).snapshot()).as("seed %d replays", seed)
          .isEqualTo(img);
    }
    assertThat(d.powerLoss(KeepPolicy.randomSubset(1)).snapshot())
        .as("different seeds choose different subsets")
        .isNotEqualTo(d.powerLoss(KeepPolicy.randomSubset(2)).snapshot());
  }

  @Test
  void policyRandomSubset_keepsLaterWriteOverEarlier_whenBothKept() throws IOException {
    // Two writes to the same block: whatever subset is kept, the block must show the later kept write, the
    // earlier kept write, or the synced content; never something else.
    PowerLossDevice d = new PowerLossDevice();
    write(d, 0, block(0x01));
    d.sync();
    write(d, 0, block(0x02));
    write(d, 0, block(0x03));
    boolean[] sawEach = new boolean[4];
    for (long seed = 0; seed < 64; seed++) {
      byte[] img = d.powerLoss(KeepPolicy.randomSubset(seed)).snapshot();
      assertThat(img[0]).isBetween((byte) 1, (byte) 3);
      assertThat(img).containsOnly(img[0]);
      sawEach[img[0]] = true;
    }
    assertThat(sawEach[1] && sawEach[2] && sawEach[3]).as("64 seeds reach every outcome").isTrue();
  }

  @Test
  void policyTorn_writesExactlyTheFirstHalfOfTheChosenWrite() throws IOException {
    int n = 6;
    PowerLossDevice d = syncedThenPending(n);
    for (int torn = 0; torn < n; torn++) {
      long seed = 100 + torn;
      byte[] img = d.powerLoss(KeepPolicy.torn(torn, seed)).snapshot();
      byte[] subset = d.powerLoss(KeepPolicy.randomSubset(seed)).snapshot();
      byte[] t = blockOf(img, torn);
      assertThat(Arrays.copyOfRange(t, 0, BLOCK / 2)).as("TORN(%d) first half is new", torn)
          .containsOnly(0x80 + torn);
      assertThat(Arrays.copyOfRange(t, BLOCK / 2, BLOCK)).as("TORN(%d) second half is old", torn)
          .containsOnly(0x10 + torn);
      for (int i = 0; i < n; i++) {
        if (i != torn) {
          assertThat(blockOf(img, i)).as("TORN(%d, %d) keeps the seed's subset for block %d", torn, seed, i)
              .isEqualTo(blockOf(subset, i));
        }
      }
    }
  }

  @Test
  void policyRandomBlocks_keepsEachBlockOfAMultiBlockWriteIndependently() throws IOException {
    int n = 48;
    PowerLossDevice d = new PowerLossDevice();
    byte[] old = new byte[n * BLOCK];
    for (int i = 0; i < n; i++) {
      Arrays.fill(old, i * BLOCK, (i + 1) * BLOCK, (byte) (0x10 + i));
    }
    write(d, 0, old);
    d.sync();
    byte[] fresh = new byte[n * BLOCK];
    for (int i = 0; i < n; i++) {
      Arrays.fill(fresh, i * BLOCK, (i + 1) * BLOCK, (byte) (0x80 + i));
    }
    write(d, 0, fresh);
    assertThat(d.pendingWriteCount()).as("one multi-block write").isEqualTo(1);
    byte[] img = d.powerLoss(KeepPolicy.randomBlocks(BLOCK, 9)).snapshot();
    int kept = 0;
    for (int i = 0; i < n; i++) {
      byte[] b = blockOf(img, i);
      boolean isNew = Arrays.equals(b, blockOf(fresh, i));
      assertThat(isNew || Arrays.equals(b, blockOf(old, i))).as("block %d whole old or whole new", i).isTrue();
      kept += isNew ? 1 : 0;
    }
    assertThat(kept).as("some but not all blocks of the single write survive").isBetween(1, n - 1);
    assertThat(d.powerLoss(KeepPolicy.randomBlocks(BLOCK, 9)).snapshot()).as("replays from its seed")
        .isEqualTo(img);
  }

  @Test
  void policyRandomBlocks_splitsAtDeviceAlignedBoundaries() throws IOException {
    // A write starting mid-block is cut at the next block boundary, not BLOCK bytes after its start.
    PowerLossDevice d = new PowerLossDevice();
    d.truncate(4 * BLOCK);
    write(d, BLOCK / 2, filled(2 * BLOCK, 0x5A));
    boolean sawSplit = false;
    for (long seed = 0; seed < 32; seed++) {
      byte[] img = d.powerLoss(KeepPolicy.randomBlocks(BLOCK, seed)).snapshot();
      // Pieces are [B/2, B), [B, 2B), [2B, 2B+B/2): each is uniformly old (0) or new (0x5A).
      assertThat(Arrays.copyOfRange(img, BLOCK / 2, BLOCK)).containsOnly(img[BLOCK / 2]);
      assertThat(Arrays.copyOfRange(img, BLOCK, 2 * BLOCK)).containsOnly(img[BLOCK]);
      assertThat(Arrays.copyOfRange(img, 2 * BLOCK, 2 * BLOCK + BLOCK / 2)).containsOnly(img[2 * BLOCK]);
      assertThat(Arrays.copyOfRange(img, 0, BLOCK / 2)).as("bytes before the write").containsOnly(0);
      sawSplit |= img[BLOCK / 2] != img[BLOCK];
    }
    assertThat(sawSplit).as("some seed keeps one piece but not the next").isTrue();
  }

  @Test
  void policyTorn_ofOddLength_keepsTheSmallerHalf() throws IOException {
    PowerLossDevice d = new PowerLossDevice();
    d.truncate(8);
    write(d, 0, new byte[] {1, 2, 3, 4, 5});
    byte[] img = d.powerLoss(KeepPolicy.torn(0, 0)).snapshot();
    assertThat(img).containsExactly(1, 2, 0, 0, 0, 0, 0, 0);
  }

  @Test
  void policyTorn_outOfRange_isRejected() throws IOException {
    PowerLossDevice d = syncedThenPending(2);
    assertThatThrownBy(() -> d.powerLoss(KeepPolicy.torn(2, 0))).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> KeepPolicy.torn(-1, 0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void policies_printTheirSeed() {
    assertThat(KeepPolicy.randomSubset(1234).toString()).contains("1234");
    assertThat(KeepPolicy.torn(3, 5678).toString()).contains("5678").contains("3");
    assertThat(KeepPolicy.prefix(9).toString()).contains("9");
    assertThat(KeepPolicy.randomBlocks(512, 4321).toString()).contains("4321").contains("512");
  }

  @Test
  void powerLoss_leavesTheSourceUnchanged_andGivesAFreshDevice() throws IOException {
    PowerLossDevice d = syncedThenPending(3);
    byte[] before = d.snapshot();
    PowerLossDevice after = d.powerLoss(KeepPolicy.NONE);
    assertThat(d.snapshot()).isEqualTo(before);
    assertThat(d.pendingWriteCount()).isEqualTo(3);
    assertThat(after.writeCount()).isZero();
    assertThat(after.pendingWriteCount()).isZero();
    write(after, 0, block(0x77));
    assertThat(read(after, 0, BLOCK)).containsOnly(0x77);
    assertThat(read(d, 0, BLOCK)).as("the new device shares no storage").containsOnly(0x80);
  }

  // ------------------------------------------------------------------------------------------------ crashAt

  @Test
  void crashAt_cutsAtTheGlobalWriteIndex_andEverythingAfterFails() throws IOException {
    PowerLossDevice d = new PowerLossDevice();
    write(d, 0, block(0x01));
    d.sync();
    d.crashAt(3);
    write(d, BLOCK, block(0x02));
    write(d, 2 * BLOCK, block(0x03));
    assertThat(d.isCut()).isFalse();
    assertThatThrownBy(() -> write(d, 3 * BLOCK, block(0x04))).isInstanceOf(PowerCutException.class);
    assertThat(d.isCut()).isTrue();
    assertThat(d.writeCount()).isEqualTo(4);
    assertThatThrownBy(() -> read(d, 0, BLOCK)).isInstanceOf(PowerCutException.class);
    assertThatThrownBy(() -> write(d, 0, block(9))).isInstanceOf(PowerCutException.class);
    assertThatThrownBy(d::sync).isInstanceOf(PowerCutException.class);
    assertThatThrownBy(d::size).isInstanceOf(PowerCutException.class);
    assertThatThrownBy(() -> d.truncate(0)).isInstanceOf(PowerCutException.class);
    assertThat(PowerCutException.class).isAssignableTo(IOException.class);
    assertThat(d.writeCount()).as("writes after the cut are not counted").isEqualTo(4);
  }

  @Test
  void crashAt_interruptedWrite_isPending_soPoliciesDecideWhetherItLanded() throws IOException {
    PowerLossDevice d = new PowerLossDevice();
    write(d, 0, block(0x01));
    d.sync();
    d.crashAt(2);
    write(d, BLOCK, block(0x02));
    assertThatThrownBy(() -> write(d, 0, block(0x03))).isInstanceOf(PowerCutException.class);
    assertThat(d.pendingWriteCount()).isEqualTo(2);
    assertThat(blockOf(d.snapshot(), 0)).as("reads before the cut never saw the interrupted write")
        .containsOnly(0x01);
    byte[] none = d.powerLoss(KeepPolicy.NONE).snapshot();
    assertThat(none).isEqualTo(block(0x01));
    byte[] all = d.powerLoss(KeepPolicy.ALL).snapshot();
    assertThat(blockOf(all, 0)).containsOnly(0x03);
    assertThat(blockOf(all, 1)).containsOnly(0x02);
    byte[] torn = d.powerLoss(KeepPolicy.torn(1, 0)).snapshot();
    assertThat(Arrays.copyOfRange(torn, 0, BLOCK / 2)).containsOnly(0x03);
    assertThat(Arrays.copyOfRange(torn, BLOCK / 2, BLOCK)).containsOnly(0x01);
  }

  @Test
  void crashAt_indexZero_cutsTheVeryFirstWrite() throws IOException {
    PowerLossDevice d = new PowerLossDevice();
    d.crashAt(0);
    assertThatThrownBy(() -> write(d, 0, block(1))).isInstanceOf(PowerCutException.class);
    assertThat(d.powerLoss(KeepPolicy.NONE).snapshot()).isEmpty();
  }

  @Test
  void crashAt_anIndexAlreadyPassed_isRejected() throws IOException {
    PowerLossDevice d = new PowerLossDevice();
    write(d, 0, block(1));
    write(d, 0, block(2));
    assertThatThrownBy(() -> d.crashAt(1)).isInstanceOf(IllegalStateException.class);
  }

  // ------------------------------------------------------------------------------------------------ model check

  /** One step of a random device workload: a write of {@code length} bytes of {@code fill}, or a sync. */
  record Step(boolean sync, int pos, int length, int fill) {}

  @Provide
  Arbitrary<List<Step>> steps() {
    Arbitrary<Step> write = Combinators.combine(Arbitraries.integers().between(0, 3 * PowerLossDevice.PAGE_SIZE),
        Arbitraries.integers().between(0, 3000), Arbitraries.integers().between(1, 255))
        .as((pos, len, fill) -> new Step(false, pos, len, fill));
    Arbitrary<Step> sync = Arbitraries.just(new Step(true, 0, 0, 0));
    return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(5, write), net.jqwik.api.Tuple.of(1, sync))
        .list().ofMaxSize(40);
  }

  private static void applyFlat(byte[][] img, Step s) {
    int end = s.pos() + s.length();
    if (end > img[0].length) {
      img[0] = Arrays.copyOf(img[0], end);
    }
    Arrays.fill(img[0], s.pos(), end, (byte) s.fill());
  }

  /**
   * Against a flat byte-array reference: reads see every write, the durable image holds exactly the writes up to
   * the last sync, and PREFIX(k) holds those plus the first k pending writes.
   */
  @Property(tries = 200)
  void device_matchesAFlatReference(@ForAll("steps") List<Step> steps) throws IOException {
    PowerLossDevice d = new PowerLossDevice();
    byte[][] all = {new byte[0]};
    byte[][] durable = {new byte[0]};
    List<Step> pendingSteps = new ArrayList<>();
    for (Step s : steps) {
      if (s.sync()) {
        d.sync();
        durable[0] = all[0].clone();
        pendingSteps.clear();
      } else {
        d.write(s.pos(), ByteBuffer.wrap(filled(s.length(), s.fill())));
        applyFlat(all, s);
        pendingSteps.add(s);
      }
    }
    assertThat(d.snapshot()).isEqualTo(all[0]);
    assertThat(read(d, 0, all[0].length)).isEqualTo(all[0]);
    assertThat(d.durableSnapshot()).isEqualTo(durable[0]);
    assertThat(d.pendingWriteCount()).isEqualTo(pendingSteps.size());
    for (int k = 0; k <= pendingSteps.size(); k++) {
      byte[][] expected = {durable[0].clone()};
      for (int i = 0; i < k; i++) {
        applyFlat(expected, pendingSteps.get(i));
      }
      assertThat(d.powerLoss(KeepPolicy.prefix(k)).snapshot()).as("PREFIX(%d)", k).isEqualTo(expected[0]);
    }
  }

  private static byte[] filled(int len, int fill) {
    byte[] b = new byte[len];
    Arrays.fill(b, (byte) fill);
    return b;
  }
}
