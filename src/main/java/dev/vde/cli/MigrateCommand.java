package dev.vde.cli;

import dev.vde.VdeLockedException;
import dev.vde.format.BlockType;
import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.Module;
import dev.vde.fs.VirtualDisk;
import dev.vde.fs.VolumeInfo;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationOptions;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code vde migrate}: look after a pending inode migration. */
@Command(name = "migrate", mixinStandardHelpOptions = true,
    description = "Status, resume and rollback of a pending inode migration (started by 'vde module add IMAGE "
        + "MODULE --option migrate').")
final class MigrateCommand extends CommandGroup {
  @Override
  List<Class<?>> subcommands() {
    return List.of(Status.class, Resume.class, Rollback.class);
  }

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = {"Show the pending migration (phase, inodes copied of total), or that there is none.",
          "Works while another process runs the migration: it then reads the migration's newest checkpoint record "
              + "without opening the volume (a crash may still take the migration back to the one before)."})
  static final class Status extends ImageCommand {
    @Option(names = "--json", description = "Print null, or {phase, migrated, total} (the 'migration' value of "
        + "'vde info --json').")
    boolean json;

    @Override
    public Integer call() throws Exception {
      VolumeInfo.Migration m;
      boolean peeked = false;
      Boolean swapped = null;
      try (VirtualDisk disk = openReadOnly()) {
        VolumeInfo info = disk.info();
        m = info.migration();
        swapped = VolumeInfoText.swapCommitted(info);
      } catch (VdeLockedException e) {
        // Open in another process, most likely the one migrating: its checkpoint records say how far it got.
        try {
          MigrationCheckpoint c = InodeMigration.peek(image);
          m = c == null ? null : new VolumeInfo.Migration(c.phase().name(), c.inodesMigrated(), c.totalInodes(),
              Module.fromManifest(c.targetModules()));
        } catch (dev.vde.VdeCorruptedException damaged) {
          if (!BlockType.MIGRATION_CHECKPOINT.structure().equals(damaged.getStructure())) {
            // The superblock or the region directory: no volume to speak of (one being created, or a file that
            // is none), and no migration either; said as an open of the file says it.
            throw damaged;
          }
          // Both checkpoint records unreadable: said the same way as when the volume is closed.
          m = new VolumeInfo.Migration("UNKNOWN", 0, 0, java.util.List.of());
        }
        peeked = true;
      }
      if (json) {
        out().println(Json.pretty(VolumeInfoJson.migration(m)));
      } else {
        out().println("Migration: " + VolumeInfoText.migration(m, swapped));
        if (peeked) {
          out().println(m == null ? "(the volume is open in another process, with no migration checkpoint)"
              : "(the volume is open in another process: this is its migration's newest checkpoint record)");
        }
      }
      return ExitCodes.OK;
    }
  }

  @Command(name = "resume", mixinStandardHelpOptions = true,
      description = "Continue the pending migration from its last checkpoint (at most one checkpoint interval is "
          + "copied again). Ctrl-C stops after the batch in progress, with a checkpoint there.")
  static final class Resume extends ImageCommand {
    @Option(names = "--max-iops", paramLabel = "N", defaultValue = "0",
        description = "Limit block I/O per second (0 = unlimited).")
    long maxIops;

    @Option(names = "--checkpoint-every", paramLabel = "N",
        defaultValue = "" + MigrationOptions.DEFAULT_CHECKPOINT_EVERY,
        description = "At most this many inodes (and the rest of one inode-table block) are redone after a crash (a "
            + "checkpoint every third of it; a slow migration also checkpoints at least once a second). Default: "
            + "${DEFAULT-VALUE}.")
    int checkpointEvery;

    @Mixin
    ProgressOptions progress;

    @Override
    public Integer call() throws Exception {
      // Each named on its own, worded as 'vde module add' words them: the user learns which value was wrong.
      if (checkpointEvery < 1) {
        throw usageError("--checkpoint-every must be at least 1");
      }
      if (maxIops < 0) {
        throw usageError("--max-iops must be 0 (unlimited) or more");
      }
      try (VirtualDisk disk = openWritable(); ProgressReporter reporter = progress.reporter(root())) {
        try {
          int code = MigrationRunner.run(disk, image, out(), reporter, checkpointEvery, maxIops,
              opts -> InodeMigration.resume(disk, opts));
          closeAfterChange(disk);
          return code;
        } catch (dev.vde.VdeCorruptedException e) {
          // The user asked to go on, so nothing is undone here; but going on again would stop at the same block.
          throw CliException.printable(Printable.of(e.getMessage()) + "; a resume stops here every time: 'vde "
              + "migrate rollback " + ShellWord.of(image) + "' undoes the migration, 'vde fsck " + ShellWord.of(image)
              + "' shows the damage");
        }
      }
    }
  }

  @Command(name = "rollback", mixinStandardHelpOptions = true,
      description = "Undo the pending migration: the volume returns exactly to its original format and the new "
          + "inode table's blocks are freed. Refused once the migration's swap has committed.")
  static final class Rollback extends ImageCommand {
    @Override
    public Integer call() throws Exception {
      try (VirtualDisk disk = openWritable()) {
        InodeMigration.rollback(disk);
        out().println("Migration rolled back; inodes are " + disk.volume().superblock().inodeSize() + " bytes.");
        closeAfterChange(disk);
      }
      return ExitCodes.OK;
    }
  }
}
