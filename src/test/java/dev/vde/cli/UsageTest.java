package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Help, version and command-line mistakes: none of these needs the engine. */
class UsageTest {
  @TempDir
  Path tmp;

  @Test
  void topLevelHelpListsEveryCommandAndTheExitCodes() {
    Cli.Result r = Cli.run("--help").ok();
    assertThat(r.stdout()).contains("create", "info", "put", "get", "ls", "mkdir", "rm", "fsck", "demo")
        .contains("Exit codes:").contains("130");
  }

  @ParameterizedTest
  @ValueSource(strings = {"create", "info", "put", "get", "ls", "mkdir", "rm", "fsck", "demo"})
  void everyCommandHasHelpWithADescription(String command) {
    Cli.Result r = Cli.run(command, "--help").ok();
    assertThat(r.stdout()).startsWith("Usage: vde " + command);
    assertThat(r.stdout().lines().skip(1).findFirst()).hasValueSatisfying(line -> assertThat(line).isNotBlank());
  }

  @Test
  void versionNamesToolAndFormat() {
    assertThat(Cli.run("--version").ok().stdout()).startsWith("vde ").contains("format 1.");
    assertThat(Cli.run("info", "--version").ok().stdout()).startsWith("vde ");
  }

  @Test
  void noCommandIsAUsageError() {
    Cli.run().failsWith(ExitCodes.USAGE);
  }

  @Test
  void unknownCommandIsAUsageErrorNamingIt() {
    assertThat(Cli.run("frobnicate").failsWith(ExitCodes.USAGE).stderr()).contains("unknown command 'frobnicate'");
  }

  @Test
  void unknownOptionIsAUsageErrorNamingItAndPointingToHelp() {
    assertThat(Cli.run("info", "x.vde", "--bogus").failsWith(ExitCodes.USAGE).stderr())
        .contains("'--bogus'").contains("vde info --help");
  }

  @Test
  void missingParameterIsAUsageError() {
    assertThat(Cli.run("put", "x.vde").failsWith(ExitCodes.USAGE).stderr()).contains("HOST_FILE");
  }

  @Test
  void sizeThatIsNotANumberIsAUsageErrorAndCreatesNothing() {
    Path image = tmp.resolve("x.vde");
    assertThat(Cli.run("create", image, "--size", "lots").failsWith(ExitCodes.USAGE).stderr())
        .contains("'lots' is not a size");
    assertThat(Cli.run("create", image, "--size", "12X").failsWith(ExitCodes.USAGE).stderr()).contains("'12X'");
    assertThat(Files.exists(image)).isFalse();
  }

  @Test
  void createWithoutSizeIsAUsageError() {
    assertThat(Cli.run("create", tmp.resolve("x.vde")).failsWith(ExitCodes.USAGE).stderr()).contains("--size");
  }

  @Test
  void badProgressModeIsAUsageError() {
    assertThat(Cli.run("fsck", "x.vde", "--progress", "loud").failsWith(ExitCodes.USAGE).stderr())
        .contains("--progress");
  }

  @Test
  void debugAddsTheStackTraceAfterTheErrorLine() {
    Cli.Result r = Cli.run("--debug", "info", tmp.resolve("missing.vde"));
    assertThat(r.exitCode()).isEqualTo(ExitCodes.FAILED);
    assertThat(r.stderrLines().get(0)).startsWith("vde: ").contains("no such file");
    assertThat(r.stderrLines().size()).isGreaterThan(1);
    assertThat(Cli.run("info", tmp.resolve("missing.vde"), "--debug").stderrLines().size()).isGreaterThan(1);
  }
}
