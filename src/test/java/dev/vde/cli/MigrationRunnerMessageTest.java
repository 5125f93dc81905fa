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
}
