package dev.vde.cli;

import dev.vde.fs.FileType;
import dev.vde.fs.VirtualDisk;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code vde mv}: rename or move a file or directory inside the image, as mv(1) does: a target that is an
 * existing directory (or ends in '/') receives the source under its own name. The move is one transaction of the
 * engine's {@code rename}, so a crash leaves the entry at its old path or at its new one, never at both or
 * neither.
 */
@Command(name = "mv", mixinStandardHelpOptions = true,
    description = "Rename or move a file or directory inside the image. A target that is an existing directory"
        + " receives it under its own name; an existing file there is replaced unless -n is given.")
final class MvCommand extends ImageCommand {
  @Parameters(index = "1", paramLabel = "FROM", description = "The file or directory to move.")
  String from;

  @Parameters(index = "2", paramLabel = "TO",
      description = "Its new path, or an existing directory to move it into (a trailing '/' insists on that).")
  String to;

  @Option(names = {"-n", "--no-clobber"}, description = "Refuse instead of replacing an existing file at TO.")
  boolean noClobber;

  @Override
  public Integer call() throws Exception {
    String source = VdePath.normalize(from);
    if (VdePath.ROOT.equals(source)) {
      throw inImage("cannot move the root directory");
    }
    try (VirtualDisk disk = openWritable()) {
      if (!disk.exists(source)) {
        throw inImage(source + ": no such file or directory");
      }
      // A trailing '/' on a file: the engine's "not a directory".
      disk.stat(VdePath.absolute(from));
      String target = targetOf(disk, source);
      if (target.equals(source)) {
        // mv(1) calls this an error too: nothing would change, and a script that meant something else learns it.
        throw inImage(source + ": source and target are the same");
      }
      if (disk.exists(target)) {
        FileType existing = disk.stat(target).type();
        if (existing == FileType.DIRECTORY) {
          throw inImage(target + ": a directory is already there; remove it first or choose another"
              + " name");
        }
        if (disk.stat(source).type() == FileType.DIRECTORY) {
          throw inImage(target + ": a file is already there; a directory cannot replace a file");
        }
        if (noClobber) {
          throw inImage(target + ": already exists; leave out -n to replace it");
        }
      }
      disk.rename(source, target);
      closeAfterChange(disk);
    }
    return ExitCodes.OK;
  }

  /** Like mv: a target naming an existing directory (or written with a trailing '/') means "into it". */
  private String targetOf(VirtualDisk disk, String source) throws Exception {
    String normalized = VdePath.normalize(to);
    boolean exists = disk.exists(normalized);
    boolean isDirectory = exists && disk.stat(normalized).type() == FileType.DIRECTORY;
    if (VdePath.namesDirectory(to) && !isDirectory) {
      throw inImage(normalized + (exists ? ": not a directory" : ": no such directory"));
    }
    return isDirectory ? VdePath.child(normalized, VdePath.name(source)) : normalized;
  }
}
