package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.fs.VirtualDisk;
import dev.vde.testing.FailingSyncDevice;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * A thread whose transaction a group commit had already made durable, but which woke only after a later group
 * failed, was told its operation failed: the wait looked at the journal's failure before its own ticket. A caller
 * that believed it and retried (or gave up on data it had in fact stored) was misled; the operation is in the
 * WAL and every later open replays it. The wait now reports a ticket that is durable as durable, whatever
 * happened after it.
 */
class DurableBeforeFailureTest {
  @Test
  void aTicketMadeDurableBeforeALaterGroupFailedIsReportedDurable() throws Exception {
    PowerLossDevice plain = new PowerLossDevice("durable-before-failure");
    FailingSyncDevice dev = new FailingSyncDevice(plain);
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512));
    d.writeFile("/a", new byte[] {1, 2, 3});
    Journal j = d.volume().journal();
    long first = j.lastTicket();
    assertThat(j.durableTicket()).isGreaterThanOrEqualTo(first);

    dev.fail = true;
    assertThatThrownBy(() -> d.writeFile("/b", new byte[] {4, 5, 6})).isInstanceOf(IOException.class);
    assertThat(j.isFailed()).isTrue();

    // The waiter of the first transaction, waking late: its operation is durable, so the wait succeeds.
    j.awaitDurable(first);
    // A ticket that never became durable still reports the failure.
    assertThatThrownBy(() -> j.awaitDurable(j.lastTicket())).isInstanceOf(IOException.class)
        .hasMessageContaining("reopen it to recover");

    // And durable it is: after power loss the first file is there, the failed one is not.
    try (VirtualDisk re = TestVolumes.open(plain.powerLoss(KeepPolicy.NONE))) {
      assertThat(re.readFile("/a")).containsExactly(1, 2, 3);
      assertThat(re.exists("/b")).isFalse();
    }
  }
}
