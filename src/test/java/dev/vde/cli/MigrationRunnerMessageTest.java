package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.InodeLayout;
import dev.vde.module.MigrationResult;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The lines a migration command prints when it ends: counts grouped as in every other line of the tool. */
class MigrationRunnerMessageTest {
  @Test
  void interruptedMigration_groupsTheCopiedCount_likeTheCompletedOne() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    PrintStream err = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    MigrationResult cancelled = new MigrationResult(1, 999_996, 151_437, 1_900, InodeLayout.canonical(0), true);
    try (ProgressReporter reporter = ProgressReporter.create(ProgressMode.NONE, err, false)) {
      int code = MigrationRunner.run(null, Path.of("i.vde"), out, reporter, 100_000, 0, opts -> cancelled);
      assertThat(code).isEqualTo(ExitCodes.INTERRUPTED);
    }
    assertThat(bytes.toString(StandardCharsets.UTF_8))
        .startsWith("Migration interrupted at a checkpoint: 151,437 inodes copied in this run;")
        .contains("Resume with: vde migrate resume i.vde");
  }

  /**
   * Ctrl-C that comes during the last batch or the swap lets the migration finish, and the process still exits 130:
   * the lines must say it completed, not leave "Migrated ..." next to an interrupted exit unexplained.
   */
  @Test
  void aCancelThatCameAsTheMigrationFinished_isExplainedNextToTheCompletedLine() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    PrintStream err = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    MigrationResult completed = new MigrationResult(1, 1_000, 1_000, 40, InodeLayout.canonical(0), false);
    try (ProgressReporter reporter = ProgressReporter.create(ProgressMode.NONE, err, false)) {
      int code = MigrationRunner.run(null, Path.of("i.vde"), out, reporter, 100_000, 0, opts -> {
        opts.control().cancel();
        return completed;
      });
      assertThat(code).isEqualTo(ExitCodes.OK);
    }
    assertThat(bytes.toString(StandardCharsets.UTF_8)).startsWith("Migrated 1,000 inodes")
        .contains("Ctrl-C came as the migration was finishing; it completed, and nothing is pending.");
  }

  @Test
  void aMigrationNobodyCancelled_saysNothingOfCtrlC() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    PrintStream err = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    MigrationResult completed = new MigrationResult(1, 1_000, 1_000, 40, InodeLayout.canonical(0), false);
    try (ProgressReporter reporter = ProgressReporter.create(ProgressMode.NONE, err, false)) {
      MigrationRunner.run(null, Path.of("i.vde"), out, reporter, 100_000, 0, opts -> completed);
    }
    assertThat(bytes.toString(StandardCharsets.UTF_8)).startsWith("Migrated 1,000 inodes").doesNotContain("Ctrl-C");
  }
}
