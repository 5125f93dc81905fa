package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.fs.VirtualDisk;
import dev.vde.io.ForwardingBlockDevice;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A group commit whose queued entries do not all fit in what is left of the WAL writes the first ones, syncs
 * them, checkpoints and writes the rest. When the checkpoint (or the second write) failed, the journal forgot the
 * first part had been synced: every waiter of the group, including those whose transactions were in that first,
 * durable part, was told the operation failed, although every later open replays it.
 */
class SplitGroupFailureTest {
  /** Lets {@code allowed} more syncs through once set, then fails every one. */
  static final class SyncBudgetDevice extends ForwardingBlockDevice {
    volatile int allowed = -1;

    SyncBudgetDevice(PowerLossDevice d) {
      super(d);
    }

    @Override
    public synchronized void sync() throws IOException {
      if (allowed == 0) {
        throw new IOException("injected: sync failed");
      }
      if (allowed > 0) {
        allowed--;
      }
      super.sync();
    }
  }

  @Test
  void theSyncedFirstPartOfAGroupStaysDurableWhenTheCheckpointAfterItFails() throws Exception {
    PowerLossDevice plain = new PowerLossDevice("split-group");
    SyncBudgetDevice dev = new SyncBudgetDevice(plain);
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512).walBlocks(64));
    Journal j = d.volume().journal();
    int n = 0;
    while (j.walUsed() < 40) {
      d.writeFile("/fill" + n++, new byte[] {7});
    }
    assertThat(j.checkpoints()).isZero();

    // One transaction queued under a commit window, then a batch that does not fit behind it: the group that the
    // batch's end leads writes the first, syncs it, and must checkpoint before the batch.
    d.setCommitWindow(Duration.ofHours(1));
    d.writeFile("/a", new byte[] {1, 2, 3});
    long first = j.lastTicket();
    assertThat(j.durableTicket()).isLessThan(first);
    long groups = j.groupsWritten();
    dev.allowed = 1;
    assertThatThrownBy(() -> d.batch(b -> {
      for (int i = 0; i < 10; i++) {
        b.writeFile("/batch" + i, new byte[] {(byte) i});
      }
    })).isInstanceOf(IOException.class);
    assertThat(j.groupsWritten()).as("the first part was written").isEqualTo(groups + 1);
    assertThat(j.isFailed()).isTrue();

    // The first part was synced: its waiter hears that its operation is durable.
    j.awaitDurable(first);
    assertThat(j.durableTicket()).isGreaterThanOrEqualTo(first);
    assertThatThrownBy(() -> j.awaitDurable(j.lastTicket())).isInstanceOf(IOException.class)
        .hasMessageContaining("reopen it to recover");

    try (VirtualDisk re = TestVolumes.open(plain.powerLoss(KeepPolicy.NONE))) {
      assertThat(re.readFile("/a")).containsExactly(1, 2, 3);
      assertThat(re.exists("/batch0")).isFalse();
      assertThat(re.verify(Progress.NONE).problems()).isEmpty();
    }
  }
}
