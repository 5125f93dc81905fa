package dev.vde.module;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.io.BlockDevice;
import dev.vde.io.ForwardingBlockDevice;
import dev.vde.testing.PowerLossDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The warming reads only the old table, never more than its lead ahead of the copier, not at all while it is not
 * allowed to, ends at a read error, and reads nothing once closed: the migration may close the device next.
 */
class OldTableWarmerTest {
  private static final int BS = 512;
  private static final long START = 100;
  private static final long BLOCKS = 3 * OldTableWarmer.LEAD_BLOCKS + 77;

  /** Records each read as {first block, block count}; fails reads when told to. */
  private static final class RecordingDevice extends ForwardingBlockDevice {
    final List<long[]> reads = new CopyOnWriteArrayList<>();
    final AtomicBoolean fail = new AtomicBoolean();
    volatile boolean closed;

    RecordingDevice(BlockDevice d) {
      super(d);
    }

    @Override
    public void read(long pos, ByteBuffer dst) throws IOException {
      reads.add(new long[] {pos / BS, dst.remaining() / BS, closed ? 1 : 0});
      if (fail.get()) {
        throw new IOException("injected read error");
      }
      delegate.read(pos, dst);
    }

    @Override
    public void write(long pos, ByteBuffer src) {
      throw new AssertionError("the warming wrote at byte " + pos);
    }

    long farthest() {
      return reads.stream().mapToLong(r -> r[0] + r[1]).max().orElse(START);
    }
  }

  private static RecordingDevice device() throws IOException {
    PowerLossDevice d = new PowerLossDevice("warm");
    d.truncate((START + BLOCKS + 10) * BS);
    return new RecordingDevice(d);
  }

  /** Waits until the reads stop growing for a while, then returns how many there are. */
  private static int settled(RecordingDevice d) throws InterruptedException {
    int n = -1;
    for (int quiet = 0; quiet < 5; ) {
      Thread.sleep(20);
      int now = d.reads.size();
      quiet = now == n ? quiet + 1 : 0;
      n = now;
    }
    return n;
  }

  @Test
  void readsTheOldTableAheadOfTheCopier_withinItsLead_andNothingAfterClose() throws Exception {
    RecordingDevice d = device();
    AtomicLong copier = new AtomicLong();
    OldTableWarmer w = new OldTableWarmer(d, START, BLOCKS, BS, copier::get, () -> true).start();
    try {
      settled(d);
      assertThat(d.farthest()).isEqualTo(START + OldTableWarmer.LEAD_BLOCKS);
      copier.set(OldTableWarmer.LEAD_BLOCKS + 5);
      settled(d);
      assertThat(d.farthest()).isEqualTo(START + 2 * OldTableWarmer.LEAD_BLOCKS + 5);
      // What the copier has passed is not read again: every read after the move starts at or past it.
      copier.set(BLOCKS - 10);
      settled(d);
      assertThat(d.farthest()).isEqualTo(START + BLOCKS);
      assertThat(d.reads).allSatisfy(r -> {
        assertThat(r[0]).isGreaterThanOrEqualTo(START);
        assertThat(r[0] + r[1]).isLessThanOrEqualTo(START + BLOCKS);
        assertThat(r[1]).isLessThanOrEqualTo(OldTableWarmer.CHUNK_BLOCKS);
      });
    } finally {
      w.close();
    }
    d.closed = true;
    int after = d.reads.size();
    Thread.sleep(50);
    assertThat(d.reads).hasSize(after);
  }

  @Test
  void notAllowed_readsNothing_untilAllowed() throws Exception {
    RecordingDevice d = device();
    AtomicBoolean allowed = new AtomicBoolean(false);
    try (OldTableWarmer w = new OldTableWarmer(d, START, BLOCKS, BS, () -> 0, allowed::get).start()) {
      assertThat(settled(d)).isZero();
      allowed.set(true);
      settled(d);
      assertThat(d.farthest()).isEqualTo(START + OldTableWarmer.LEAD_BLOCKS);
    }
  }

  @Test
  void aReadError_endsTheWarming() throws Exception {
    RecordingDevice d = device();
    d.fail.set(true);
    AtomicLong copier = new AtomicLong();
    try (OldTableWarmer w = new OldTableWarmer(d, START, BLOCKS, BS, copier::get, () -> true).start()) {
      assertThat(settled(d)).isEqualTo(1);
      d.fail.set(false);
      copier.set(100);
      assertThat(settled(d)).as("no read after the failed one").isEqualTo(1);
    }
  }
}
