package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.VdeInvalidArgumentException;
import dev.vde.check.VerifyReport;
import dev.vde.module.copy.CopyOptions;
import dev.vde.module.copy.ExtentAwareCopy;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code verify}, and a copy's final pass, hold the volume's state still (the state lock's read side) while they
 * call the caller's {@code Progress}. A callback that wrote to the volume (a progress note in a file, say) hung
 * for good: its publish waited for the read its own thread held, and, holding the writer lock, it stopped every
 * other writer, every new reader and {@code close()} with it. Such a change is now refused at once, and the read
 * goes on.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class WriteFromReadCallbackTest {
  @TempDir
  Path dir;

  /** Runs {@code call} on a daemon thread and fails unless it ends within a few seconds. */
  private static <T> T within(java.util.concurrent.Callable<T> call) throws Exception {
    CompletableFuture<T> f = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try {
        f.complete(call.call());
      } catch (Throwable e) {
        f.completeExceptionally(e);
      }
    });
    t.setDaemon(true);
    t.start();
    t.join(5_000);
    assertThat(t.isAlive()).as("the call has ended (a callback's write hung it)").isFalse();
    return f.get();
  }

  @Test
  void aWriteFromVerifysProgress_isRefused_andVerifyEnds() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(dir.resolve("v.vde"), CreateOptions.ofSize(8L << 20))) {
      d.writeFile("/a", new byte[100]);
      List<Throwable> refused = new CopyOnWriteArrayList<>();
      VerifyReport r = within(() -> d.verify((phase, done, total, unit) -> {
        try {
          d.writeFile("/progress", phase.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (Exception e) {
          refused.add(e);
        }
      }));
      assertThat(r.clean()).isTrue();
      assertThat(refused).isNotEmpty().allMatch(e -> e instanceof VdeInvalidArgumentException
          && e.getMessage().contains("inside a read that holds its state still"));
      d.writeFile("/after", new byte[] {1});
      assertThat(d.exists("/progress")).isFalse();
    }
  }

  @Test
  void aWriteFromACopysProgress_isRefusedWhileWritersArePaused_andTheCopyEnds() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(dir.resolve("src.vde"), CreateOptions.ofSize(8L << 20))) {
      for (int i = 0; i < 20; i++) {
        d.writeFile("/f" + i, new byte[5000]);
      }
      List<Throwable> refused = new CopyOnWriteArrayList<>();
      within(() -> ExtentAwareCopy.copy(d, dir.resolve("dst.vde"), CopyOptions.defaults().verify(true)
          .progress((phase, done, total, unit) -> {
            try {
              d.writeFile("/progress", new byte[] {1});
            } catch (Exception e) {
              refused.add(e);
            }
          })));
      assertThat(refused).isNotEmpty().allMatch(e -> e instanceof VdeInvalidArgumentException);
      d.writeFile("/after", new byte[] {1});
      try (VirtualDisk copy = VirtualDisk.open(dir.resolve("dst.vde"))) {
        assertThat(copy.list("/")).hasSizeGreaterThanOrEqualTo(20);
      }
    }
  }
}
