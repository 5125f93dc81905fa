package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import java.nio.file.Files;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The journal keeps every image written to the WAL since the last checkpoint in memory, and checkpointed only when
 * the WAL was full: a volume created with a large WAL (here 256 MiB) filled the heap of a JVM smaller than that
 * with small files' journaled data and died in OutOfMemoryError. It must checkpoint before what it holds outgrows
 * its share of the heap. Runs in a child JVM with a 32 MiB heap.
 */
class WalMemoryTest {
  @TempDir Path tmp;

  /** The child: many small (journaled) files on a volume whose WAL is four times its heap. */
  public static void main(String[] args) throws Exception {
    try (VirtualDisk d = VirtualDisk.create(Path.of(args[0]), CreateOptions.ofSize(1L << 30).walBlocks(65536))) {
      d.setCommitWindow(Duration.ofMillis(10));
      byte[] data = new byte[12_000];
      for (int i = 0; i < 4_000; i++) {
        data[0] = (byte) i;
        d.writeFile("/f" + i, data);
      }
      d.sync();
      if (!d.verify(Progress.NONE).problems().isEmpty()) {
        throw new AssertionError("problems");
      }
    }
    System.out.println("done");
  }

  @Test
  void aWalLargerThanTheHeapIsCheckpointedBeforeItFillsTheHeap() throws Exception {
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx32m",
        "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), WalMemoryTest.class.getName(),
        tmp.resolve("wal.vde").toString());
    Path log = tmp.resolve("child.log");
    Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    // Before the fix the child could also hang (a commit thread that died of OutOfMemoryError left every waiter
    // waiting), so it is not waited for without a limit.
    boolean ended = child.waitFor(60, TimeUnit.SECONDS);
    if (!ended) {
      child.destroyForcibly().waitFor();
    }
    String output = Files.readString(log, StandardCharsets.UTF_8);
    assertThat(ended).as("child ended; output: %s", output).isTrue();
    assertThat(child.exitValue()).as("output: %s", output).isZero();
    assertThat(output).contains("done").doesNotContain("OutOfMemoryError");
  }
}
