package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.check.VerifyReport;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A positive commit window: operations return before they are durable and become durable together, by the
 * background flusher, by {@code sync()}, by {@code close()}, or when too many wait; a crash keeps every operation
 * up to some point in commit order and never less than what the last {@code sync()} covered.
 */
class CommitWindowTest {
  private static final Duration NEVER = Duration.ofHours(1);

  @Test
  void operationsReturnUnsyncedAndSyncMakesThemDurable() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("window");
    try (VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512))) {
      d.setCommitWindow(NEVER);
      long syncs = dev.syncCount();
      for (int i = 0; i < 5; i++) {
        d.writeFile("/f" + i, SeededBytes.bytes(i, 300));
      }
      // Published at once, durable later: nothing was synced, and a power cut now loses all five.
      assertThat(d.readFile("/f4")).isEqualTo(SeededBytes.bytes(4, 300));
      assertThat(dev.syncCount()).isEqualTo(syncs);
      try (VirtualDisk lost = TestVolumes.open(dev.powerLoss(KeepPolicy.NONE))) {
        assertThat(lost.exists("/f0")).isFalse();
      }
      d.sync();
      assertThat(d.volume().journal().durableTicket()).isEqualTo(d.volume().journal().lastTicket());
      try (VirtualDisk kept = TestVolumes.open(dev.powerLoss(KeepPolicy.NONE))) {
        for (int i = 0; i < 5; i++) {
          assertThat(kept.readFile("/f" + i)).isEqualTo(SeededBytes.bytes(i, 300));
        }
      }
    }
  }

  @Test
  void theFlusherMakesThemDurableWithinTheWindow() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("window-flusher");
    try (VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512))) {
      d.setCommitWindow(Duration.ofMillis(5));
      for (int i = 0; i < 20; i++) {
        d.writeFile("/f" + i, SeededBytes.bytes(i, 100));
      }
      long last = d.volume().journal().lastTicket();
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (d.volume().journal().durableTicket() < last && System.nanoTime() < deadline) {
        Thread.sleep(1);
      }
      assertThat(d.volume().journal().durableTicket()).isEqualTo(last);
      try (VirtualDisk kept = TestVolumes.open(dev.powerLoss(KeepPolicy.NONE))) {
        assertThat(kept.readFile("/f19")).isEqualTo(SeededBytes.bytes(19, 100));
      }
    }
  }

  @Test
  void fourWritersShareSyncsAndSyncCoversThemAll() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("window-threads");
    try (VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512).inodeCount(1024))) {
      d.setCommitWindow(Duration.ofMillis(2));
      long g0 = d.volume().journal().groupsWritten();
      java.util.concurrent.ExecutorService ex = java.util.concurrent.Executors.newFixedThreadPool(4);
      try {
        List<java.util.concurrent.Future<?>> fs = new ArrayList<>();
        for (int th = 0; th < 4; th++) {
          int first = th;
          fs.add(ex.submit(() -> {
            for (int i = first; i < 400; i += 4) {
              d.writeFile("/f" + i, SeededBytes.bytes(i, 700));
            }
            return null;
          }));
        }
        for (java.util.concurrent.Future<?> f : fs) {
          f.get();
        }
      } finally {
        ex.shutdownNow();
      }
      d.sync();
      assertThat(d.volume().journal().groupsWritten() - g0).as("groups for 400 creates").isLessThan(200);
      try (VirtualDisk kept = TestVolumes.open(dev.powerLoss(KeepPolicy.NONE))) {
        for (int i = 0; i < 400; i++) {
          assertThat(kept.readFile("/f" + i)).isEqualTo(SeededBytes.bytes(i, 700));
        }
        assertThat(kept.verify(Progress.NONE).clean()).isTrue();
      }
    }
  }

  @Test
  void aShorterWindowTakesEffectForCommitsAlreadyWaiting() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("window-shorter");
    try (VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512))) {
      d.setCommitWindow(NEVER);
      d.writeFile("/early", SeededBytes.bytes(1, 100));
      d.setCommitWindow(Duration.ofMillis(5));
      d.writeFile("/late", SeededBytes.bytes(2, 100));
      long last = d.volume().journal().lastTicket();
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (d.volume().journal().durableTicket() < last && System.nanoTime() < deadline) {
        Thread.sleep(1);
      }
      assertThat(d.volume().journal().durableTicket()).isEqualTo(last);
    }
  }

  @Test
  void tooManyWaitingMakesTheCommitterSync() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("window-bound");
    try (VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512).inodeCount(2048))) {
      d.setCommitWindow(NEVER);
      d.mkdir("/d");
      for (int i = 0; i < CommitFlusher.MAX_UNSYNCED * 2; i++) {
        d.writeFile("/d/f" + i, new byte[0]);
        long behind = d.volume().journal().lastTicket() - d.volume().journal().durableTicket();
        assertThat(behind).isLessThanOrEqualTo(CommitFlusher.MAX_UNSYNCED + 1);
      }
    }
  }

  @Test
  void closeMakesEverythingDurableAndZeroRestoresDurableOnReturn() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("window-close");
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512));
    d.setCommitWindow(NEVER);
    d.writeFile("/a", SeededBytes.bytes(1, 2000));
    d.setCommitWindow(Duration.ZERO);
    assertThat(d.commitWindow()).isZero();
    d.writeFile("/b", SeededBytes.bytes(2, 2000));
    // Durable on return again, and it carried /a with it (commit order).
    try (VirtualDisk kept = TestVolumes.open(dev.powerLoss(KeepPolicy.NONE))) {
      assertThat(kept.readFile("/a")).isEqualTo(SeededBytes.bytes(1, 2000));
      assertThat(kept.readFile("/b")).isEqualTo(SeededBytes.bytes(2, 2000));
    }
    d.setCommitWindow(NEVER);
    d.writeFile("/c", SeededBytes.bytes(3, 2000));
    d.close();
    try (VirtualDisk kept = TestVolumes.open(dev.powerLoss(KeepPolicy.NONE))) {
      assertThat(kept.readFile("/c")).isEqualTo(SeededBytes.bytes(3, 2000));
    }
  }

  @Test
  void badWindowIsRefusedAndSyncInsideABatchReturns() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(new PowerLossDevice("window-args"), TestVolumes.options(512))) {
      assertThatThrownBy(() -> d.setCommitWindow(Duration.ofMillis(-1)))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("zero or positive");
      assertThatThrownBy(() -> d.setCommitWindow(null)).isInstanceOf(VdeInvalidArgumentException.class);
      d.batch(x -> {
        x.writeFile("/in-batch", new byte[10]);
        x.sync();
      });
      assertThat(d.readFile("/in-batch")).hasSize(10);
    }
  }

  // ------------------------------------------------------------------------------------------------ crashes

  /** One operation of the crash workload, applied to the disk and to the model. */
  private record Op(String what, IoAction onDisk, java.util.function.Consumer<Map<String, byte[]>> onModel) {}

  @FunctionalInterface
  private interface IoAction {
    void run(VirtualDisk d) throws IOException;
  }

  private static List<Op> workload() {
    List<Op> ops = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      String name = "/f" + i;
      // Small files journal their data; every fourth is large enough (40 blocks of 512 bytes) to be written in
      // place before its commit.
      byte[] data = SeededBytes.bytes(100 + i, i % 4 == 3 ? 40 * 496 : 200 + 37 * i);
      ops.add(new Op("write " + name, d -> d.writeFile(name, data), m -> m.put(name, data)));
      if (i % 5 == 4) {
        String gone = "/f" + (i - 3);
        ops.add(new Op("delete " + gone, d -> d.delete(gone), m -> m.remove(gone)));
      }
      if (i % 3 == 2) {
        ops.add(new Op("sync", VirtualDisk::sync, m -> { }));
      }
    }
    return ops;
  }

  /**
   * What a run reached before the cut: operations that returned, how many of them a returned sync covered, and
   * the writes it issued after creating the volume.
   */
  private record Reached(int returned, int synced, long writesAfterCreate) {}

  private static Reached run(PowerLossDevice dev, List<Op> ops, long cutAfterCreate) {
    VirtualDisk d = null;
    int returned = 0;
    int synced = 0;
    long created = 0;
    try {
      d = VirtualDisk.create(dev, TestVolumes.options(512));
      created = dev.writeCount();
      if (cutAfterCreate >= 0) {
        dev.crashAt(dev.writeCount() + cutAfterCreate);
      }
      d.setCommitWindow(NEVER);
      for (Op op : ops) {
        op.onDisk().run(d);
        returned++;
        if (op.what().equals("sync")) {
          synced = returned;
        }
      }
      d.close();
      synced = returned;
    } catch (IOException e) {
      assertThat(dev.isCut()).as("only the power cut may fail the run: %s", e).isTrue();
      try {
        d.close();
      } catch (IOException | RuntimeException ignored) {
        // The device is gone; closing only stops the flusher and releases the engine.
      }
    }
    return new Reached(returned, synced, dev.writeCount() - created);
  }

  @Test
  void crashAtEveryWriteKeepsAPrefixAtLeastUpToTheLastSync() throws Exception {
    List<Op> ops = workload();
    // The model after each prefix of the operations.
    List<Map<String, byte[]>> states = new ArrayList<>();
    Map<String, byte[]> m = new LinkedHashMap<>();
    states.add(new LinkedHashMap<>(m));
    for (Op op : ops) {
      op.onModel().accept(m);
      states.add(new LinkedHashMap<>(m));
    }
    long writes = run(new PowerLossDevice("window-crash"), ops, -1).writesAfterCreate();
    assertThat(writes).as("the workload writes after create").isGreaterThan(10);
    KeepPolicy[] policies = {KeepPolicy.NONE, KeepPolicy.ALL, KeepPolicy.randomSubset(7), KeepPolicy.torn(0, 3)};
    int cases = 0;
    for (long k = 0; k < writes; k++) {
      PowerLossDevice dev = new PowerLossDevice("window-crash@" + k);
      Reached r = run(dev, ops, k);
      assertThat(dev.isCut()).as("cut at write %d after create was reached", k).isTrue();
      for (KeepPolicy policy : policies) {
        if (policy instanceof KeepPolicy.Torn t && t.index() >= dev.pendingWriteCount()) {
          continue;
        }
        String where = "cut at write " + k + " after create, " + policy + ", " + r;
        try (VirtualDisk re = TestVolumes.open(dev.powerLoss(policy))) {
          VerifyReport rep = re.verify(Progress.NONE);
          assertThat(rep.clean()).as("%s: %s", where, rep).isTrue();
          Map<String, byte[]> found = new LinkedHashMap<>();
          for (int i = 0; i < 12; i++) {
            if (re.exists("/f" + i)) {
              found.put("/f" + i, re.readFile("/f" + i));
            }
          }
          int match = -1;
          for (int p = Math.min(states.size() - 1, r.returned() + 1); p >= 0 && match < 0; p--) {
            if (sameFiles(states.get(p), found)) {
              match = p;
            }
          }
          assertThat(match).as("%s: the recovered files %s are no prefix of the operations", where, found.keySet())
              .isGreaterThanOrEqualTo(0);
          assertThat(match).as("%s: a returned sync covered %d operations", where, r.synced())
              .isGreaterThanOrEqualTo(r.synced());
          cases++;
        }
      }
    }
    assertThat(cases).isGreaterThan((int) writes * 2);
  }

  private static boolean sameFiles(Map<String, byte[]> a, Map<String, byte[]> b) {
    if (!a.keySet().equals(b.keySet())) {
      return false;
    }
    for (Map.Entry<String, byte[]> e : a.entrySet()) {
      if (!java.util.Arrays.equals(e.getValue(), b.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }
}
