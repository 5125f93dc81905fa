package dev.vde.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeLockedException;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host lock is the process's (POSIX record locks): closing any channel of the file drops it. A second open
 * in the same process must therefore be refused without ever opening a channel, or the first volume would be left
 * unlocked against other processes. Each test asks a separate JVM ({@link #main}) whether it can take the lock.
 */
class FileBlockDeviceLockTest {
  @TempDir
  Path tmp;

  @Test
  void refusedSecondOpenInThisProcess_leavesTheFirstLockedAgainstOtherProcesses() throws Exception {
    Path p = tmp.resolve("v.vde");
    try (VirtualDisk d = VirtualDisk.create(p, CreateOptions.ofSize(4L << 20))) {
      d.writeFile("/a", new byte[] {1, 2, 3});
      assertThat(otherProcessCanLock(p)).as("locked while open").isFalse();
      assertThatThrownBy(() -> VirtualDisk.open(p)).isInstanceOf(VdeLockedException.class);
      assertThatThrownBy(() -> VirtualDisk.open(p, OpenOptions.readOnlyOptions()))
          .isInstanceOf(VdeLockedException.class);
      // Another spelling of the same path meets the same entry.
      Path other = tmp.resolve(".").resolve("v.vde");
      assertThatThrownBy(() -> VirtualDisk.open(other)).isInstanceOf(VdeLockedException.class);
      assertThat(otherProcessCanLock(p)).as("still locked after the refused opens").isFalse();
      assertThat(d.readFile("/a")).containsExactly(1, 2, 3);
    }
    assertThat(otherProcessCanLock(p)).as("released on close").isTrue();
    try (VirtualDisk d = VirtualDisk.open(p)) {
      assertThat(d.readFile("/a")).containsExactly(1, 2, 3);
    }
  }

  @Test
  void refusedOpenThroughAHardLink_leavesTheFirstLocked() throws Exception {
    Path p = tmp.resolve("v.vde");
    Path link = tmp.resolve("link.vde");
    try (VirtualDisk d = VirtualDisk.create(p, CreateOptions.ofSize(4L << 20))) {
      d.writeFile("/a", new byte[] {4, 5, 6});
      Files.createLink(link, p);
      assertThatThrownBy(() -> VirtualDisk.open(link)).isInstanceOf(VdeLockedException.class);
      assertThatThrownBy(() -> VirtualDisk.open(link, OpenOptions.readOnlyOptions()))
          .isInstanceOf(VdeLockedException.class);
      assertThat(otherProcessCanLock(p)).as("still locked after the refused opens").isFalse();
      d.writeFile("/b", new byte[] {7});
    }
    assertThat(otherProcessCanLock(link)).as("released on close").isTrue();
    try (VirtualDisk d = VirtualDisk.open(link)) {
      assertThat(d.readFile("/a")).containsExactly(4, 5, 6);
      assertThat(d.readFile("/b")).containsExactly(7);
      assertThatThrownBy(() -> VirtualDisk.open(p)).isInstanceOf(VdeLockedException.class);
    }
  }

  @Test
  void anOpenDuringAPeek_isRefused_soThePeeksCloseCannotUnlockIt() throws Exception {
    Path p = tmp.resolve("during-peek.vde");
    VirtualDisk.create(p, CreateOptions.ofSize(4L << 20)).close();
    try (PeekDevice peek = PeekDevice.open(p)) {
      assertThatThrownBy(() -> VirtualDisk.open(p)).isInstanceOf(VdeLockedException.class);
      peek.close();
      peek.close();
      try (VirtualDisk d = VirtualDisk.open(p)) {
        assertThat(otherProcessCanLock(p)).as("locked, a second close of the peek released nothing").isFalse();
      }
    }
  }

  @Test
  void opensRacingARenameOfAnOpenImage_neverUnlockIt() throws Exception {
    Path held = tmp.resolve("held.vde");
    Path other = tmp.resolve("other.vde");
    try (VirtualDisk d = VirtualDisk.create(held, CreateOptions.ofSize(4L << 20))) {
      java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
      Thread renamer = new Thread(() -> {
        try {
          while (!stop.get()) {
            Files.move(held, other);
            Files.move(other, held);
          }
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      renamer.start();
      try {
        for (int i = 0; i < 2000; i++) {
          try {
            FileBlockDevice.open(other, false).close();
          } catch (IOException expected) {
            // refused (locked, changed or gone): what matters is what the refusal left behind
          }
        }
      } finally {
        stop.set(true);
        renamer.join();
      }
      Path now = Files.exists(held) ? held : other;
      assertThat(otherProcessCanLock(now)).as("the open image is still locked").isFalse();
      d.writeFile("/still", new byte[] {1});
    }
  }

  @Test
  void aPeekAtAnImageThisProcessHasOpen_isRefusedAndLeavesItLocked() throws Exception {
    Path p = tmp.resolve("peeked.vde");
    Path link = tmp.resolve("peeked-link.vde");
    try (VirtualDisk d = VirtualDisk.create(p, CreateOptions.ofSize(4L << 20))) {
      Files.createLink(link, p);
      assertThatThrownBy(() -> dev.vde.module.InodeMigration.peek(p)).isInstanceOf(VdeLockedException.class);
      assertThatThrownBy(() -> dev.vde.module.InodeMigration.peek(link)).isInstanceOf(VdeLockedException.class);
      assertThat(otherProcessCanLock(p)).as("still locked").isFalse();
    }
    assertThat(dev.vde.module.InodeMigration.peek(p)).as("no migration checkpoint").isNull();
  }

  @Test
  void refusedOpenOfAFileBeingCreated_leavesTheCreatorLocked() throws Exception {
    Path p = tmp.resolve("new.vde");
    try (FileBlockDevice created = FileBlockDevice.create(p)) {
      assertThatThrownBy(() -> FileBlockDevice.open(p, true)).isInstanceOf(VdeLockedException.class);
      assertThat(otherProcessCanLock(p)).isFalse();
    }
    assertThat(otherProcessCanLock(p)).isTrue();
  }

  @Test
  void closingTwice_doesNotReleaseAnotherDevicesEntry() throws Exception {
    Path p = tmp.resolve("twice.vde");
    FileBlockDevice first = FileBlockDevice.create(p);
    first.close();
    try (FileBlockDevice second = FileBlockDevice.open(p, false)) {
      first.close();
      assertThatThrownBy(() -> FileBlockDevice.open(p, false)).isInstanceOf(VdeLockedException.class);
      assertThat(otherProcessCanLock(p)).isFalse();
    }
  }

  /** Runs {@link #main} in a new JVM: true when that process could take the file's lock. */
  static boolean otherProcessCanLock(Path p) throws IOException, InterruptedException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process proc = new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"),
        FileBlockDeviceLockTest.class.getName(), p.toString())).redirectErrorStream(true).start();
    String out = new String(proc.getInputStream().readAllBytes()).strip();
    assertThat(proc.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(out).isIn("locked", "held");
    return out.equals("locked");
  }

  /** Prints "locked" when it could take an exclusive lock on the file, "held" when another process holds one. */
  public static void main(String[] args) throws IOException {
    try (FileChannel ch = FileChannel.open(Path.of(args[0]), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      FileLock l = ch.tryLock();
      System.out.println(l != null ? "locked" : "held");
    }
  }
}
