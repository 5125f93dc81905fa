package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Creating a volume whose allocation bitmap does not fit in the heap ends in {@link OutOfMemoryError}. Create
 * cleaned up after exceptions only: after the Error the host file (a sparse file of terabytes) stayed behind, and
 * the process kept it registered as open, so every later create or open of that path in the same process was
 * refused with "volume is already open elsewhere" until the JVM restarted. Open had the same gap.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CreateOutOfMemoryTest {
  @TempDir
  Path dir;

  @Test
  void aCreateEndedByAnError_leavesNoFile_andThePathCanBeUsedAgain() throws Exception {
    // 512-byte blocks; a bitmap larger than the whole heap (one bit per block), still an int-sized word array.
    long blocks = Runtime.getRuntime().maxMemory() * 8 + (1L << 20);
    assumeThat(blocks).as("a heap small enough for an int-sized bitmap to exceed it").isLessThan(1L << 37);
    Path file = dir.resolve("huge.vde");
    Throwable failure = null;
    try {
      VirtualDisk.create(file, CreateOptions.ofSize(blocks * 512).blockSize(512)).close();
    } catch (Throwable t) {
      // OutOfMemoryError; or, where the host file system cannot hold a file that large, the engine's error.
      failure = t;
    }
    assertThat(failure).isNotNull();
    assertThat(Files.exists(file)).as("a host file left by the failed create").isFalse();
    try (VirtualDisk again = VirtualDisk.create(file, CreateOptions.ofSize(8L << 20))) {
      again.writeFile("/f", new byte[] {1});
    }
    try (VirtualDisk reopened = VirtualDisk.open(file)) {
      assertThat(reopened.readFile("/f")).containsExactly(1);
    }
  }
}
