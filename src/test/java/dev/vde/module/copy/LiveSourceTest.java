package dev.vde.module.copy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.fs.DirEntry;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.SeededBytes;
import java.nio.file.Path;
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

  private static byte[] content(int i) {
    return SeededBytes.bytes(i, 500 + i * 37 % 20_000);
  }
}
