package dev.vde.cli;

import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationProgress;
import dev.vde.module.MigrationResult;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Runs an inode migration for a command: progress on stderr, and Ctrl-C handled gracefully. On SIGINT the
 * shutdown hook asks the migration to stop after the batch in progress (with a durable checkpoint there) and
 * waits for it (and for the volume to be closed), so the process exits 130 with a resumable migration and a
 * message saying how to resume.
 */
final class MigrationRunner {
  private MigrationRunner() {}

  /** Start or resume; {@code modules == null} resumes. */
  interface Work {
    MigrationResult run(MigrationOptions opts) throws IOException;
  }

  /**
   * A listener that shows a migration on {@code reporter}, starting with the state the run begins from: the first
   * batch may already be the last, and the first line must not be the final one.
   */
  static MigrationProgress.Listener shownBy(ProgressReporter reporter) {
    return new MigrationProgress.Listener() {
      @Override
      public void onStart(MigrationProgress p) {
        onProgress(p);
      }

      @Override
      public void onProgress(MigrationProgress p) {
        reporter.update("migrating inodes", p.migrated(), p.total(), "inodes");
      }
    };
  }

  static int run(VirtualDisk disk, Path image, PrintStream out, ProgressReporter reporter, int checkpointEvery,
      long maxIops, Work work) throws IOException {
    MigrationControl control = new MigrationControl(maxIops, true);
    MigrationOptions opts = MigrationOptions.defaults().checkpointEvery(checkpointEvery).control(control)
        .listener(shownBy(reporter));
    CountDownLatch finished = new CountDownLatch(1);
    Thread hook = new Thread(() -> {
      control.cancel();
      try {
        finished.await(60, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "vde-migration-interrupt");
    Runtime.getRuntime().addShutdownHook(hook);
    boolean shuttingDown = false;
    try {
      MigrationResult r = work.run(opts);
      if (r.cancelled()) {
        reporter.close();
        out.println("Migration interrupted at a checkpoint: " + Numbers.grouped(r.inodesCopied())
            + " inodes copied in this run; the volume stays usable with its old format. Resume with: "
            + "vde migrate resume " + ShellWord.of(image));
        return ExitCodes.INTERRUPTED;
      }
      reporter.close();
      String copied = r.inodesCopied() == r.totalInodes() ? ""
          : " (" + Numbers.grouped(r.inodesCopied()) + " of them copied in this run)";
      double rate = r.durationMillis() == 0 ? 0.0 : r.inodesCopied() * 1000.0 / r.durationMillis();
      out.println("Migrated " + Numbers.grouped(r.totalInodes()) + " inodes" + copied + " in "
          + Numbers.fixed(r.durationMillis() / 1000.0, 2) + " s (" + Numbers.groupedWhole(rate)
          + " inodes/s); inodes are now " + r.newLayout().inodeSize() + " bytes.");
      if (control.isCancelled()) {
        // Ctrl-C came during the last batch or the swap, and a migration that far is finished rather than stopped
        // (a few syncs more). The process still exits 130, as the JVM does after SIGINT: say what that means.
        out.println("Ctrl-C came as the migration was finishing; it completed, and nothing is pending.");
      }
      return ExitCodes.OK;
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // The JVM is already shutting down (Ctrl-C): the hook is waiting for us to finish.
        shuttingDown = true;
      }
      if (shuttingDown) {
        disk.close();
      }
      finished.countDown();
    }
  }

  /**
   * What to report when a migration this command started failed: a damaged block of the old table (which a
   * resume would meet again) makes the migration roll back, so the volume is as it was; any other failure leaves
   * it pending, and the message says how to go on. Returns {@code e} itself when nothing is pending.
   */
  static Exception afterFailedStart(VirtualDisk disk, Path image, IOException e) {
    if (InodeMigration.status(disk) == null) {
      return e;
    }
    if (e instanceof dev.vde.VdeCorruptedException) {
      try {
        InodeMigration.rollback(disk);
        return CliException.printable(Printable.of(e.getMessage() + "; the migration was rolled back and " + image
            + " is as it was") + "; 'vde fsck " + ShellWord.of(image) + "' shows the damage");
      } catch (IOException | RuntimeException r) {
        return CliException.printable(Printable.of(e.getMessage() + "; the migration stays pending (rolling it "
            + "back failed: " + r.getMessage() + ")") + "; see 'vde migrate status " + ShellWord.of(image) + "'");
      }
    }
    return CliException.printable(Printable.of(e.getMessage()) + "; the migration stays pending: 'vde migrate resume "
        + ShellWord.of(image) + "' continues it, 'vde migrate rollback " + ShellWord.of(image) + "' undoes it");
  }

  static String status(VirtualDisk disk) {
    var c = InodeMigration.status(disk);
    return c == null ? null : c.phase() + " " + c.inodesMigrated() + "/" + c.totalInodes();
  }
}
