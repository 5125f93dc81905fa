package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The commit window's flusher is a thread like any other: code that interrupts threads it does not own (a pool
 * shutting down what it thinks are its workers, a tool that interrupts every thread of the process) reaches it. It
 * used to take an interrupt as its end and return, and since it was started once per volume, nothing led the
 * window's group commits afterwards: operations that returned under a 5 ms window stayed not durable until a
 * {@code sync()} or {@code close()}, or until 256 of them piled up, and a crash lost every one of them. An
 * interrupt means nothing to the flusher now: it goes on leading a group once each window has passed.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class InterruptedFlusherTest {
  private static boolean durableWithin(VirtualDisk d, long ticket, long millis) throws InterruptedException {
    long deadline = System.nanoTime() + millis * 1_000_000L;
    while (d.volume().journal().durableTicket() < ticket && System.nanoTime() < deadline) {
      Thread.sleep(1);
    }
    return d.volume().journal().durableTicket() >= ticket;
  }

  /** The flusher of the volume on the device named {@code name}; it starts with the first deferred commit. */
  private static Thread flusher(String name) {
    Thread found = null;
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().equals("vde-commit " + name)) {
        assertThat(found).as("one flusher thread for " + name).isNull();
        found = t;
      }
    }
    assertThat(found).as("the flusher thread of " + name).isNotNull();
    return found;
  }

  @Test
  void operationsAfterAnInterruptOfTheFlusher_becomeDurableWithinTheWindow() throws Exception {
    String name = "interrupted-flusher";
    PowerLossDevice dev = new PowerLossDevice(name);
    try (VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512))) {
      d.setCommitWindow(Duration.ofMillis(5));
      d.writeFile("/f0", SeededBytes.bytes(0, 100));
      assertThat(durableWithin(d, d.volume().journal().lastTicket(), 10_000)).as("/f0 durable").isTrue();
      Thread t = flusher(name);
      for (int i = 1; i <= 5; i++) {
        t.interrupt();
        // Give a flusher that takes the interrupt as its end the time to end, so the next write finds it gone.
        t.join(100);
        d.writeFile("/f" + i, SeededBytes.bytes(i, 100));
        assertThat(durableWithin(d, d.volume().journal().lastTicket(), 10_000))
            .as("/f%d, written after %d interrupt(s) of the flusher, durable long after its 5 ms window", i, i)
            .isTrue();
      }
      assertThat(t.isAlive()).as("the flusher survived the interrupts").isTrue();
      // What the user loses otherwise: the power goes, nothing beyond what reached the disk is kept.
      try (VirtualDisk kept = TestVolumes.open(dev.powerLoss(KeepPolicy.NONE))) {
        for (int i = 0; i <= 5; i++) {
          assertThat(kept.readFile("/f" + i)).as("/f%d after a power loss", i).isEqualTo(SeededBytes.bytes(i, 100));
        }
      }
    }
  }

  @Test
  void anInterruptDuringAGroupCommit_doesNotEndTheFlusher() throws Exception {
    String name = "interrupted-flusher-busy";
    PowerLossDevice dev = new PowerLossDevice(name);
    try (VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512))) {
      d.setCommitWindow(Duration.ofMillis(1));
      d.writeFile("/warm", SeededBytes.bytes(99, 10));
      Thread t = flusher(name);
      // Interrupts land wherever the flusher is: waiting, lingering for its group, writing it.
      Thread interrupter = new Thread(() -> {
        while (!Thread.currentThread().isInterrupted()) {
          t.interrupt();
          try {
            Thread.sleep(0, 200_000);
          } catch (InterruptedException e) {
            return;
          }
        }
      });
      interrupter.start();
      try {
        for (int i = 0; i < 50; i++) {
          d.writeFile("/g" + i, SeededBytes.bytes(i, 100));
        }
      } finally {
        interrupter.interrupt();
        interrupter.join();
      }
      long last = d.volume().journal().lastTicket();
      assertThat(durableWithin(d, last, 10_000)).as("the last write durable long after its 1 ms window").isTrue();
      try (VirtualDisk kept = TestVolumes.open(dev.powerLoss(KeepPolicy.NONE))) {
        for (int i = 0; i < 50; i++) {
          assertThat(kept.readFile("/g" + i)).as("/g%d after a power loss", i).isEqualTo(SeededBytes.bytes(i, 100));
        }
      }
    }
  }
}
