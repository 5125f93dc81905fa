package dev.vde.module.copy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.vde.Progress;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.SeededBytes;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two live copies of one source at once: each keeps its own record of what changed since it began
 * ({@code Volume.startTracking}), so one starting or ending neither clears nor ends the other's, and each
 * destination is the source as its own final pass saw it.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ConcurrentCopiesTest {
  private static final int PAYLOAD = CopyFixtures.PAYLOAD;

  @TempDir
  Path tmp;

  /**
   * Copy 1 pre-copies the table; the source is changed; copy 2 starts and is held in its pre-copy while copy 1
   * runs its final pass, which must still see the changes (with one shared record, copy 2's start cleared it and
   * copy 1 kept the stale table block); then copy 2 completes.
   */
  @Test
  void aSecondCopyStartingDuringTheFirstsPreCopy_losesTheFirstsRecordedChanges() throws Exception {
    ExecutorService other = Executors.newSingleThreadExecutor();
    CountDownLatch copy2InPreCopy = new CountDownLatch(1);
    CountDownLatch copy1Done = new CountDownLatch(1);
    try (VirtualDisk d = CopyFixtures.create(tmp.resolve("src.vde"), 16L << 20)) {
      CopyFixtures.populate(d);
      List<Future<CopyResult>> second = new ArrayList<>();
      Progress copy1 = (phase, done, total, unit) -> {
        if (phase.equals("pre-copying inode table") && done == total && second.isEmpty()) {
          try {
            // After the table's pre-copy: this inode's table block is now stale in copy 1's destination.
            d.writeFile("/a/f5-with-a-long-enough-name", SeededBytes.bytes(21, 2 * PAYLOAD + 3));
            d.truncate("/a/b/c/big", 5);
          } catch (IOException e) {
            throw new IllegalStateException(e);
          }
          Progress copy2 = (p2, d2, t2, u2) -> {
            if (p2.equals("pre-copying") && copy2InPreCopy.getCount() > 0) {
              copy2InPreCopy.countDown();
              try {
                copy1Done.await(30, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }
          };
          second.add(other.submit(() -> ExtentAwareCopy.copy(d, tmp.resolve("copy2.vde"),
              CopyOptions.defaults().progress(copy2))));
          try {
            assertThat(copy2InPreCopy.await(30, TimeUnit.SECONDS)).isTrue();
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
        }
      };
      Path dst1 = tmp.resolve("copy1.vde");
      try {
        ExtentAwareCopy.copy(d, dst1, CopyOptions.defaults().progress(copy1));
      } finally {
        copy1Done.countDown();
      }
      Map<String, String> expected = CopyFixtures.tree(d);
      try (VirtualDisk c = VirtualDisk.open(dst1)) {
        Map<String, String> got = CopyFixtures.tree(c);
        for (String f : List.of("/a/b/c/big", "/a/f5-with-a-long-enough-name")) {
          assertThat(got.get(f).substring(0, 12)).as("copy 1's %s (size:hash)", f)
              .isEqualTo(expected.get(f).substring(0, 12));
        }
        CopyFixtures.assertClean(c, "copy1");
      }
      // Copy 1's end must not end copy 2's record.
      assertThatCode(() -> second.get(0).get(30, TimeUnit.SECONDS)).doesNotThrowAnyException();
    } finally {
      other.shutdownNow();
    }
  }

  /** A second copy that runs to its end inside the first's pre-copy must not end the first's record. */
  @Test
  void aSecondCopyFinishingDuringTheFirstsPreCopy_breaksTheFirst() throws Exception {
    try (VirtualDisk d = CopyFixtures.create(tmp.resolve("src2.vde"), 16L << 20)) {
      CopyFixtures.populate(d);
      List<Boolean> ran = new ArrayList<>();
      Progress copy1 = (phase, done, total, unit) -> {
        if (phase.equals("pre-copying") && done == total && ran.isEmpty()) {
          ran.add(true);
          try {
            ExtentAwareCopy.copy(d, tmp.resolve("inner.vde"), CopyOptions.defaults());
          } catch (IOException e) {
            throw new IllegalStateException(e);
          }
        }
      };
      assertThatCode(() -> ExtentAwareCopy.copy(d, tmp.resolve("outer.vde"), CopyOptions.defaults()
          .progress(copy1))).doesNotThrowAnyException();
    }
  }
}
