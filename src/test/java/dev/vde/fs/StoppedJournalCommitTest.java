package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeException;
import dev.vde.testing.FailingSyncDevice;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A transaction being built when the journal stops (a WAL write or sync failing in another thread: the commit
 * window's flusher, a concurrent sync) is refused at commit. The refusal came after the in-memory bitmap had
 * already taken the transaction's allocations and frees, so the stopped volume's bitmap called blocks allocated
 * that nothing referenced: its free count was wrong and {@code verify()} reported leaked blocks, a bitmap block
 * differing from the bitmap in use and a wrong free count, none of which is on disk.
 */
class StoppedJournalCommitTest {
  @Test
  void aTransactionRefusedByAStoppedJournal_leavesThePublishedBitmapAsItWas() throws Exception {
    FailingSyncDevice dev = new FailingSyncDevice(new PowerLossDevice("stopped"));
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512));
    d.writeFile("/f", new byte[5000]);
    d.setCommitWindow(Duration.ofHours(1));
    d.writeFile("/a", new byte[300]);
    d.delete("/f");
    dev.fail = true;
    d.writeFile("/g", new byte[3000]);
    long free = d.info().freeBlocks();
    assertThat(d.verify(Progress.NONE).problems()).isEmpty();
    // While this transaction is open, another thread's sync fails and stops the journal.
    assertThatThrownBy(() -> d.changeFormat(tx -> {
      tx.allocateContiguous(10);
      Thread other = new Thread(() -> {
        try {
          d.sync();
        } catch (IOException expected) {
          // The injected failure: the journal stops.
        }
      });
      other.start();
      try {
        other.join();
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
      assertThat(d.volume().journal().isFailed()).isTrue();
      return null;
    })).isInstanceOf(VdeException.class).hasMessageContaining("reopen it to recover");
    assertThat(d.verify(Progress.NONE).problems()).as("the stopped volume's published state").isEmpty();
    assertThat(d.info().freeBlocks()).isEqualTo(free);
    assertThatThrownBy(d::close).isInstanceOf(VdeException.class);
  }
}
