package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vde migrate status} of a file that another process holds locked reads the migration's records without
 * opening the volume; when what it cannot read is the superblock or the region directory rather than the records,
 * it fails as an open would. It used to report "pending: UNKNOWN, 0 of 0 inodes copied" with exit code 0 for any
 * such file (one being created by another process, or not a vde image at all, such as a database another program
 * holds locked), claiming a migration that does not exist.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class MigrateStatusLockedTest {
  @TempDir
  Path dir;

  /** Holds a POSIX lock on the file named by its argument until its standard input closes. */
  public static final class LockHolder {
    public static void main(String[] args) throws Exception {
      try (FileChannel ch = FileChannel.open(Path.of(args[0]), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
        ch.lock();
        System.out.println("locked");
        System.out.flush();
        while (System.in.read() >= 0) {
          // Until the test closes our input.
        }
      }
    }
  }

  @Test
  void statusOfALockedFileThatIsNoVolume_failsInsteadOfReportingAPendingMigration() throws Exception {
    Path file = dir.resolve("other.db");
    byte[] content = new byte[1 << 20];
    byte[] header = "SQLite format 3\0".getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(header, 0, content, 0, header.length);
    Files.write(file, content);
    String unlocked = Cli.run("migrate", "status", file).failsWith(ExitCodes.FAILED).stderr();

    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        System.getProperty("java.class.path"), LockHolder.class.getName(), file.toString());
    Process child = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(),
        StandardCharsets.UTF_8))) {
      assertThat(r.readLine()).isEqualTo("locked");
      Cli.Result locked = Cli.run("migrate", "status", file);
      assertThat(locked.stdout()).doesNotContain("pending");
      locked.failsWith(ExitCodes.FAILED);
      // Said as an open of the file says it, not as a migration's state.
      assertThat(locked.stderr()).isEqualTo(unlocked);
      Cli.Result json = Cli.run("migrate", "status", file, "--json");
      assertThat(json.stdout()).doesNotContain("UNKNOWN");
      json.failsWith(ExitCodes.FAILED);
    } finally {
      child.getOutputStream().close();
      child.waitFor(30, TimeUnit.SECONDS);
      child.destroyForcibly();
    }
  }
}
