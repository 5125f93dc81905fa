package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeException;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.module.copy.CopyOptions;
import dev.vde.module.copy.ExtentAwareCopy;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine keeps a volume's whole allocation bitmap in memory (two views of one bit per block). A volume whose
 * bitmap this JVM cannot hold must be refused before anything is written, with a message that says how much heap
 * it needs and how to get it, never end in {@link OutOfMemoryError} (or an overflowed array size) with a
 * half-made file left behind. Sizes here are sparse or refused before the file exists, so nothing large is
 * written; the open case runs in a child JVM with a small heap.
 */
class BitmapHeapLimitTest {
  @TempDir Path tmp;

  /** 2^36 blocks of 512 bytes (32 TiB): two 8 GiB views, more than the tests' 2 GiB heap. */
  private static final long TOO_BIG_FOR_THE_HEAP = (1L << 36) * 512;

  @Test
  void create_ofAVolumeWhoseBitmapExceedsTheHeap_isRefusedBeforeTheFileExists() {
    Path image = tmp.resolve("huge.vde");
    assertThatThrownBy(() -> VirtualDisk.create(image, CreateOptions.ofSize(TOO_BIG_FOR_THE_HEAP).blockSize(512)))
        .isInstanceOf(VdeInvalidArgumentException.class)
        .hasMessageContaining("heap")
        .hasMessageContaining("-Xmx");
    assertThat(image).doesNotExist();
  }

  @Test
  void create_beyondWhatOneArrayCanHold_isRefusedBeforeTheFileExists() {
    // 2^40 blocks, the format's limit: 2^34 words per view, more than a Java array holds at any heap size.
    Path image = tmp.resolve("limit.vde");
    assertThatThrownBy(() -> VirtualDisk.create(image, CreateOptions.ofSize((1L << 40) * 512).blockSize(512)))
        .isInstanceOf(VdeInvalidArgumentException.class)
        .hasMessageContaining("block size");
    assertThat(image).doesNotExist();
  }

  @Test
  void copy_toADestinationWhoseBitmapExceedsTheHeap_failsBeforeWritingIt() throws IOException {
    Path src = tmp.resolve("src.vde");
    try (VirtualDisk d = VirtualDisk.create(src, CreateOptions.ofSize(1 << 20).blockSize(512))) {
      d.writeFile("/a", new byte[5000]);
    }
    Path dst = tmp.resolve("dst.vde");
    assertThatThrownBy(() -> ExtentAwareCopy.copy(src, dst, CopyOptions.defaults().sizeBytes(TOO_BIG_FOR_THE_HEAP)))
        .isInstanceOf(VdeInvalidArgumentException.class)
        .hasMessageContaining("heap")
        .hasMessageContaining("-Xmx");
    assertThat(dst).doesNotExist();
  }

  /**
   * A volume made with a larger heap, opened where the heap is smaller: a clear refusal (exit 3, one line) from
   * the tool, not an OutOfMemoryError. 2^27 blocks of 512 bytes: two 16 MiB views, a 64 GiB sparse file.
   */
  @Test
  void open_ofAVolumeWhoseBitmapExceedsTheHeap_isRefusedClearly() throws Exception {
    Path image = tmp.resolve("big.vde");
    VirtualDisk.create(image, CreateOptions.ofSize((1L << 27) * 512).blockSize(512).inodeCount(64)).close();
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx16m",
        "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), "dev.vde.cli.Main", "info",
        image.toString());
    Process child = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    String stderr;
    try (InputStream in = child.getErrorStream()) {
      stderr = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(child.exitValue()).as("stderr: %s", stderr).isEqualTo(3);
    assertThat(stderr.lines().toList()).as("stderr").hasSize(1);
    assertThat(stderr).startsWith("vde: ").contains("heap").contains("-Xmx").doesNotContain("Exception");
    // Refused, not damaged: with enough heap it opens as before.
    try (VirtualDisk d = VirtualDisk.open(image)) {
      assertThat(d.list("/")).isEmpty();
    }
  }

  @Test
  void theMessageSaysHowMuchHeapTheBitmapNeeds() {
    VdeException e = org.junit.jupiter.api.Assertions.assertThrows(VdeInvalidArgumentException.class,
        () -> Volume.plan(CreateOptions.ofSize(TOO_BIG_FOR_THE_HEAP).blockSize(512)));
    // Two views of 2^36 bits, 8 GiB each (the bitmap's blocks round it up a little).
    assertThat(e.getMessage()).contains("16.0 GiB").contains("-Xmx21g");
  }
}
