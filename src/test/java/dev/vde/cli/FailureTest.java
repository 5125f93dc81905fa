package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.VdeCorruptedException;
import dev.vde.VdeNoSpaceException;
import dev.vde.VdeNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How exceptions become the one-line message and the exit code. */
class FailureTest {
  private static final Path IMAGE = Path.of("disk.vde");

  @Test
  void engineFailuresExitWith3AndNameTheImageWhenTheirMessageDoesNot() {
    Failure f = Failure.of(new VdeNotFoundException("/a/b: no such file or directory"), IMAGE);
    assertThat(f.exitCode()).isEqualTo(ExitCodes.FAILED);
    assertThat(f.message()).isEqualTo("/a/b: no such file or directory (disk.vde)");

    Failure damaged = Failure.of(new VdeCorruptedException(7, "inode table", "bad checksum", "other.vde"), IMAGE);
    assertThat(damaged.message()).isEqualTo("block 7 (inode table): bad checksum (other.vde)");
  }

  @Test
  void noSpaceSaysWhatToDo() {
    assertThat(Failure.of(new VdeNoSpaceException("no free blocks left"), null).message())
        .isEqualTo("no free blocks left; make room with 'vde rm' or create a larger image");
  }

  @Test
  void hostFileErrorsAreWordedNotJustAPath() {
    assertThat(Failure.of(new NoSuchFileException("/x/y")).message()).isEqualTo("/x/y: no such file or directory");
    assertThat(Failure.of(new AccessDeniedException("/x/y")).message()).isEqualTo("/x/y: permission denied");
    assertThat(Failure.of(new UncheckedIOException(new AccessDeniedException("/z"))).message())
        .isEqualTo("/z: permission denied");
    assertThat(Failure.of(new IOException(new NoSuchFileException("/w"))).message())
        .isEqualTo("/w: no such file or directory");
    Failure bare = Failure.of(new IOException());
    assertThat(bare.message()).isEqualTo("host file system: input/output error");
    assertThat(bare.exitCode()).isEqualTo(ExitCodes.FAILED);
    assertThat(Failure.of(new IOException("No space left on device"), java.nio.file.Path.of("img.vde")).message())
        .isEqualTo("host file system: No space left on device (img.vde)");
  }

  /** A shortage whose message names its own way out gets no general advice after it, which would contradict it. */
  @Test
  void noSpaceThatSaysWhatToDoGetsNoOtherAdvice() {
    String inodes = Failure.of(new VdeNoSpaceException("no free inodes: all 3 are in use; create the volume with "
        + "more (--inodes)", true), IMAGE).message();
    assertThat(inodes).isEqualTo("no free inodes: all 3 are in use; create the volume with more (--inodes) "
        + "(disk.vde)");
  }

  @Test
  void onlyAFullVolumeIsToldToMakeRoomInsideIt() {
    assertThat(Failure.of(new dev.vde.VdeNoSpaceException("no free blocks left on the volume")).message())
        .contains("make room with 'vde rm'");
    assertThat(Failure.of(new dev.vde.VdeNoSpaceException("the copy writes 9 bytes but the host file system of /d "
        + "has 1 bytes free")).message()).doesNotContain("vde rm");
  }

  @Test
  void interruptionExitsWith130() {
    assertThat(Failure.of(new InterruptedIOException()).exitCode()).isEqualTo(ExitCodes.INTERRUPTED);
    assertThat(Failure.of(new ClosedByInterruptException()).exitCode()).isEqualTo(ExitCodes.INTERRUPTED);
    assertThat(Failure.of(new InterruptedException()).exitCode()).isEqualTo(ExitCodes.INTERRUPTED);
  }

  @Test
  void defectsAreInternalErrorsWithoutClassNames() {
    Failure f = Failure.of(new IllegalStateException("extent map\nout of order"));
    assertThat(f.exitCode()).isEqualTo(ExitCodes.INTERNAL_ERROR);
    assertThat(f.message()).isEqualTo("internal error: extent map out of order; please report it with the output"
        + " of --debug");
    assertThat(Failure.of(new NullPointerException()).message()).startsWith("internal error: unexpected failure")
        .doesNotContain("NullPointer");
  }

  // Picocli hands only Exceptions to the error handler: an Error (a heap too small for the work, a stack overflow)
  // ended the JVM with a raw stack trace and exit code 1, which README reserves for usage errors.
  @Test
  void anErrorIsOneLineWithItsOwnExitCode_notAStackTraceAndTheUsageCode(@TempDir Path tmp) throws Exception {
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx48m",
        "-cp", System.getProperty("java.class.path"), "dev.vde.cli.Main",
        "demo", tmp.resolve("demo").toString(), "--files", "1000000", "--no-modules", "--progress", "none");
    Process child = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    String stderr;
    try (InputStream in = child.getErrorStream()) {
      stderr = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertThat(child.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(child.exitValue()).as("stderr: %s", stderr).isEqualTo(ExitCodes.FAILED);
    assertThat(stderr.lines().toList()).as("stderr").hasSize(1);
    assertThat(stderr).startsWith("vde: out of memory").contains("-Xmx").doesNotContain("\tat ")
        .doesNotContain("Exception");

    assertThat(Failure.of(new StackOverflowError()).exitCode()).isEqualTo(ExitCodes.INTERNAL_ERROR);
  }
}
