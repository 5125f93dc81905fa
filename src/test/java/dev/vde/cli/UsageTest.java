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

  /** Each run builds only the commands it names; a group's help and its mistakes still see every subcommand. */
  @Test
  void groupsListTheirSubcommandsWhateverTheRunNames() {
    assertThat(Cli.run("module", "--help").ok().stdout()).contains("list", "analyze", "add");
    assertThat(Cli.run("tag", "--help").ok().stdout()).contains("set", "get", "ls", "rm");
    assertThat(Cli.run("migrate", "--help").ok().stdout()).contains("status", "resume", "rollback");
    assertThat(Cli.run("module").failsWith(ExitCodes.USAGE).stderr()).contains("list, analyze, add");
    assertThat(Cli.run("module", "ad").failsWith(ExitCodes.USAGE).stderr()).contains("did you mean 'add'");
    assertThat(Cli.run("module", "add", "--help").ok().stdout()).startsWith("Usage: vde module add");
    assertThat(Cli.run("tag", "set", "--help").ok().stdout()).startsWith("Usage: vde tag set");
    assertThat(Cli.run("--version", "--help").ok().stdout()).contains("create", "module", "Exit codes:");
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
