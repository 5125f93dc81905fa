package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.VdeCorruptedException;
import dev.vde.VdeNoSpaceException;
import dev.vde.VdeNotFoundException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

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
}
