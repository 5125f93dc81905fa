package dev.vde.module.copy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.fs.DirEntry;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.SeededBytes;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A copy of a volume that another thread keeps writing to. */
class LiveSourceTest {
  @TempDir
  Path tmp;

  @Test
  void writersArePausedSoTheCopyIsOneConsistentState() throws Exception {
    Path src = tmp.resolve("src.vde");
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger written = new AtomicInteger();
    AtomicReference<Throwable> writerFailure = new AtomicReference<>();
    try (VirtualDisk d = CopyFixtures.create(src, 32L << 20)) {
      d.mkdirs("/live");
      Thread writer = new Thread(() -> {
        try {
          for (int i = 0; !stop.get(); i++) {
            d.writeFile("/live/f" + i, content(i));
            if (i % 3 == 2) {
              d.delete("/live/f" + (i - 2));
            }
            written.incrementAndGet();
          }
        } catch (Throwable e) {
          writerFailure.set(e);
        }
      }, "copy-test-writer");
      writer.start();
      while (written.get() < 30 && writer.isAlive()) {
        Thread.sleep(1);
      }
      CopyResult first = ExtentAwareCopy.copy(d, tmp.resolve("one.vde"), CopyOptions.defaults().verify(true));
      int between = written.get();
      CopyResult second = ExtentAwareCopy.copy(d, tmp.resolve("two.vde"), CopyOptions.defaults().verify(true));
      // The writer gets going again once the copies release it.
      while (written.get() < between + 30 && writer.isAlive()) {
        Thread.sleep(1);
      }
      stop.set(true);
      writer.join();
      assertThat(writerFailure.get()).isNull();
      assertThat(first.pauseMillis()).isBetween(0L, first.duration().toMillis() + 1);
      assertThat(second.verified()).isTrue();
    }
    for (String name : new String[] {"one.vde", "two.vde"}) {
      try (VirtualDisk c = VirtualDisk.open(tmp.resolve(name))) {
        CopyFixtures.assertClean(c, name);
        for (DirEntry e : c.list("/live")) {
          int i = Integer.parseInt(e.name().substring(1));
          assertThat(c.readFile(e.path())).as(name + " " + e.path()).isEqualTo(content(i));
        }
      }
    }
  }

  /**
   * Once everything read from the source is written, the rest of a copy (bitmap, final sync, superblocks) comes
   * from its plan, so a writer of the source goes on while the copy syncs; with verification the source must stay
   * as copied until the comparison, so the writer waits.
   */
  @Test
  void writersResumeBeforeTheFinalSyncUnlessTheCopyIsVerified() throws Exception {
    Path src = tmp.resolve("src.vde");
    try (VirtualDisk d = CopyFixtures.create(src, 32L << 20)) {
      CopyFixtures.populate(d);
      ExecutorService other = Executors.newSingleThreadExecutor();
      try {
        for (boolean verify : new boolean[] {false, true}) {
          String name = "during-sync-" + verify;
          List<Future<?>> writes = new ArrayList<>();
          List<Boolean> doneDuringSync = new ArrayList<>();
          Progress atSync = (phase, done, total, unit) -> {
            if (phase.equals("syncing") && done == 0) {
              Future<?> w = other.submit(() -> {
                d.writeFile("/" + name, content(7));
                return null;
              });
              writes.add(w);
              doneDuringSync.add(finishesWithin(w, verify ? 300 : 10_000));
            }
          };
          Path copyPath = tmp.resolve(name + ".vde");
          CopyResult r = ExtentAwareCopy.copy(d, copyPath, CopyOptions.defaults().verify(verify).progress(atSync));
          assertThat(doneDuringSync).as("the syncing phase was reported once (verify %s)", verify).hasSize(1);
          assertThat(doneDuringSync.get(0)).as("a source write finished during the final sync (verify %s)", verify)
              .isEqualTo(!verify);
          writes.get(0).get(10, TimeUnit.SECONDS);
          assertThat(r.pauseMillis()).isLessThanOrEqualTo(r.duration().toMillis());
          // The write came after the point the copy shows, whether it landed during the sync or after the copy.
          try (VirtualDisk c = VirtualDisk.open(copyPath)) {
            CopyFixtures.assertClean(c, name);
            assertThat(c.exists("/" + name)).as("%s must not hold the later write", name).isFalse();
          }
          assertThat(d.readFile("/" + name)).isEqualTo(content(7));
        }
      } finally {
        other.shutdownNow();
      }
    }
  }

  private static boolean finishesWithin(Future<?> f, long millis) {
    try {
      f.get(millis, TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (InterruptedException | ExecutionException e) {
      throw new AssertionError("the source write failed", e);
    }
  }

  /**
   * The source is closed by its owner (a shutdown, say) just as the copy finishes: every block of the copy is
   * written and synced, so the copy is complete and must be reported so, not as failed with "volume is closed"
   * while a complete copy stays at the destination (where a retry then finds the name taken).
   */
  @Test
  void aSourceClosedAsTheCopyEndsLeavesACopyReportedAsComplete() throws Exception {
    Path src = tmp.resolve("closing.vde");
    Path dst = tmp.resolve("closing-copy.vde");
    VirtualDisk d = CopyFixtures.create(src, 16L << 20);
    java.util.Map<String, String> before;
    CopyResult r;
    try {
      CopyFixtures.populate(d);
      before = CopyFixtures.tree(d);
      r = ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().progress((phase, done, total, unit) -> {
        if (phase.equals("syncing") && done == total) {
          try {
            d.close();
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        }
      }));
    } finally {
      d.close();
    }
    assertThat(r.blocksCopied()).isPositive();
    try (VirtualDisk c = VirtualDisk.open(dst)) {
      assertThat(CopyFixtures.tree(c)).isEqualTo(before);
      CopyFixtures.assertClean(c, "copy of a source closed as it ended");
    }
  }

  private static byte[] content(int i) {
    return SeededBytes.bytes(i, 500 + i * 37 % 20_000);
  }
}
