package dev.vde.module.copy;

import static dev.vde.module.copy.CopyFixtures.PAYLOAD;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.format.Module;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.SeededBytes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/** The I/O limit, cancellation and progress reporting. */
class CopyOptionsTest {
  @TempDir
  Path tmp;

  @Test
  void theIoLimitPacesTheCopy() throws Exception {
    Path src = tmp.resolve("src.vde");
    try (VirtualDisk d = CopyFixtures.create(src, 16L << 20)) {
      d.writeFile("/a", SeededBytes.bytes(1, 400 * PAYLOAD));
      long iops = 4000;
      CopyResult r = ExtentAwareCopy.copy(d, tmp.resolve("dst.vde"), CopyOptions.defaults().maxIops(iops));
      // Each copied block is read once and written once; a tenth of a second's worth may go in a burst.
      double floorSeconds = (2.0 * r.blocksCopied() - iops / 10.0) / iops;
      assertThat(r.duration().toNanos() / 1e9).isGreaterThanOrEqualTo(floorSeconds).isLessThan(floorSeconds + 5);
      assertThat(r.blocksCopied()).isGreaterThanOrEqualTo(400);
    }
  }

  /**
   * A null module, or a set holding one, is refused with a message naming it and leaves the options as they were; it
   * used to fail inside {@code EnumSet} with a bare {@code NullPointerException}, after the modules set before were
   * cleared.
   */
  @Test
  void aNullModuleIsRefusedByName_andTheOptionsKeepTheirModules() {
    CopyOptions o = CopyOptions.defaults().addModule(Module.TAGS);
    assertThatThrownBy(() -> o.addModule(null)).isInstanceOf(NullPointerException.class).hasMessage("module");
    assertThatThrownBy(() -> o.modulesToAdd(null)).isInstanceOf(NullPointerException.class).hasMessage("modules");
    java.util.Set<Module> withNull = new java.util.HashSet<>(java.util.Arrays.asList(Module.SECURITY, null));
    assertThatThrownBy(() -> o.modulesToAdd(withNull)).isInstanceOf(NullPointerException.class)
        .hasMessage("modules holds a null module");
    assertThat(o.modulesToAdd()).containsExactly(Module.TAGS);
  }

  /** Cancelled while the data is pre-copied (writers running) or copied in one pass (writers held off). */
  @ParameterizedTest
  @ValueSource(strings = {"pre-copying", "copying"})
  void cancellingRemovesThePartialDestination(String phaseToCancelIn) throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("dst.vde");
    AtomicBoolean cancel = new AtomicBoolean();
    try (VirtualDisk d = CopyFixtures.create(src, 16L << 20)) {
      d.writeFile("/a", SeededBytes.bytes(1, 400 * PAYLOAD));
      String hash = CopyFixtures.sha256(src);
      CopyOptions options = CopyOptions.defaults()
          .preCopy(phaseToCancelIn.equals("pre-copying"))
          .maxIops(4000)
          .cancellation(cancel::get)
          .progress((phase, done, total, unit) -> {
            if (phase.equals(phaseToCancelIn) && done > 0) {
              cancel.set(true);
            }
          });
      assertThatThrownBy(() -> ExtentAwareCopy.copy(d, dst, options))
          .isInstanceOf(CopyCancelledException.class)
          .hasMessageContaining("cancelled");
      assertThat(CopyFixtures.sha256(src)).isEqualTo(hash);
      // The source's writers run again.
      d.writeFile("/after", SeededBytes.bytes(2, 10));
    }
    assertThat(Files.exists(dst)).isFalse();
  }

  /**
   * The I/O limit makes the copy wait for its turn before each batch; a cancellation that arrives during such a
   * wait must end it, not wait it out. Here the copy reads the source's inode table (260 blocks at 100 a second),
   * then waits to write the first 256 blocks of the new one, and the cancellation comes during that wait.
   */
  @Test
  void aCancellationEndsAWaitForTheIoLimit() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("dst.vde");
    AtomicBoolean cancel = new AtomicBoolean();
    long[] cancelledAt = {0};
    try (VirtualDisk d = CopyFixtures.create(src, 16L << 20, 4096)) {
      d.batch(disk -> {
        for (int i = 0; i < 3100; i++) {
          disk.writeFile("/e" + i, new byte[0]);
        }
      });
      java.util.concurrent.ScheduledExecutorService timer =
          java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
      try {
        CopyOptions options = CopyOptions.defaults()
            .preCopy(false)
            .maxIops(100)
            .cancellation(cancel::get)
            .progress((phase, done, total, unit) -> {
              if (phase.equals("copying") && done == total && cancelledAt[0] == 0) {
                cancelledAt[0] = -1;
                timer.schedule(() -> {
                  cancelledAt[0] = System.nanoTime();
                  cancel.set(true);
                }, 3000, java.util.concurrent.TimeUnit.MILLISECONDS);
              }
            });
        assertThatThrownBy(() -> ExtentAwareCopy.copy(d, dst, options))
            .isInstanceOf(CopyCancelledException.class);
        long waitedMillis = (System.nanoTime() - cancelledAt[0]) / 1_000_000;
        assertThat(cancelledAt[0]).as("cancelled during the copy").isPositive();
        assertThat(waitedMillis).as("milliseconds from the cancellation to the end of the copy").isLessThan(1000);
      } finally {
        timer.shutdownNow();
      }
    }
    assertThat(Files.exists(dst)).isFalse();
  }

  /**
   * With {@code verify}, the copy is written whole (final superblocks included) before it is checked and compared
   * with the source. A cancellation there must end the copy and remove it: {@code vde copy} waits only 10 s after
   * Ctrl-C, so a check that ran on regardless left a valid, unverified DEST behind, or completed as if nothing had
   * been asked. Cancelled once the read-back of every block is done, as the full check of the copy begins.
   */
  @Test
  void aCancellationWhileTheCopyIsCheckedEndsItAndRemovesIt() throws Exception {
    Path src = tmp.resolve("src.vde");
    Path dst = tmp.resolve("dst.vde");
    AtomicBoolean cancel = new AtomicBoolean();
    List<String> after = new ArrayList<>();
    try (VirtualDisk d = CopyFixtures.create(src, 16L << 20)) {
      CopyFixtures.populate(d);
      CopyOptions options = CopyOptions.defaults()
          .verify(true)
          .cancellation(cancel::get)
          .progress((phase, done, total, unit) -> {
            if (cancel.get()) {
              after.add(phase);
            }
            if (phase.equals("verifying blocks") && done == total) {
              cancel.set(true);
            }
          });
      assertThatThrownBy(() -> ExtentAwareCopy.copy(d, dst, options)).isInstanceOf(CopyCancelledException.class);
    }
    assertThat(after).as("phases reported after the cancellation").doesNotContain("verifying files");
    assertThat(Files.exists(dst)).isFalse();
  }

  /** The check of the copy reads every data block again, and the I/O limit holds for it as for the rest. */
  @Test
  void theCheckOfTheCopyIsPacedByTheIoLimit() throws Exception {
    Path src = tmp.resolve("src.vde");
    long[] first = {-1};
    long[] last = {-1};
    long[] total = {0};
    try (VirtualDisk d = CopyFixtures.create(src, 16L << 20)) {
      d.writeFile("/big", SeededBytes.bytes(7, 600 * PAYLOAD));
      ExtentAwareCopy.copy(d, tmp.resolve("dst.vde"), CopyOptions.defaults().verify(true).maxIops(1000)
          .progress((phase, done, t, unit) -> {
            if (phase.equals("checking the copy (data)")) {
              last[0] = System.nanoTime();
              first[0] = first[0] < 0 ? last[0] : first[0];
              total[0] = t;
            }
          }));
    }
    assertThat(total[0]).as("data blocks the check reads").isGreaterThanOrEqualTo(600);
    // 600 blocks at 1,000 a second take 0.6 s; half of it leaves room for the bucket's tenth of a second.
    assertThat((last[0] - first[0]) / 1_000_000).as("milliseconds the check read data").isGreaterThan(300);
  }

  @Test
  void progressNamesEveryPhaseAndEndsEachAtItsTotal() throws Exception {
    Path src = tmp.resolve("src.vde");
    List<String> seen = new ArrayList<>();
    List<long[]> last = new ArrayList<>();
    List<Long> first = new ArrayList<>();
    try (VirtualDisk d = CopyFixtures.create(src, 16L << 20)) {
      CopyFixtures.populate(d);
      ExtentAwareCopy.copy(d, tmp.resolve("dst.vde"), CopyOptions.defaults().addModule(Module.TAGS).verify(true)
          .progress((phase, done, total, unit) -> {
            if (seen.isEmpty() || !seen.get(seen.size() - 1).equals(phase)) {
              seen.add(phase);
              last.add(new long[2]);
              first.add(done);
            }
            last.get(last.size() - 1)[0] = done;
            last.get(last.size() - 1)[1] = total;
          }));
    }
    // A writable source is pre-copied: scanned and copied (data, then the inode table) while writers run, then
    // scanned again while paused, and what changed meanwhile copied again. Verification reads every block back,
    // checks the whole copy (the verifier's phases) and compares it file by file.
    assertThat(seen).containsExactly("scanning inodes", "pre-copying", "pre-copying inode table", "scanning inodes",
        "copying", "writing inode table", "syncing", "verifying blocks", "checking the copy (superblock)",
        "checking the copy (regions)", "checking the copy (bitmap)", "checking the copy (inodes)",
        "checking the copy (data)", "checking the copy (tree)", "verifying files");
    for (int i = 0; i < seen.size(); i++) {
      assertThat(last.get(i)[0]).as(seen.get(i)).isEqualTo(last.get(i)[1]);
      // The first state too, as README promises: a phase reported first once its first piece is done shows one
      // line where it is short, and its rate leaves that piece out.
      assertThat(first.get(i)).as(seen.get(i) + " starts at 0").isZero();
    }
  }
}
