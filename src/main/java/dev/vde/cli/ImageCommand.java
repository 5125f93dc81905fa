package dev.vde.cli;

import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Base of the commands whose first parameter is an image file: opens it with errors people understand. */
abstract class ImageCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Parameters(index = "0", paramLabel = "IMAGE", description = "The image file (conventionally *.vde).")
  Path image;

  /** Opens the image without writing anything to it (recovery happens in memory only). */
  VirtualDisk openReadOnly() throws IOException, CliException {
    requireImage();
    return VirtualDisk.open(image, OpenOptions.readOnlyOptions());
  }

  /** Opens the image to change it; an image that can only be opened read-only is refused, saying why. */
  VirtualDisk openWritable() throws IOException, CliException {
    requireImage();
    return VirtualDisk.open(image, OpenOptions.defaults().requireWritable(true));
  }

  /**
   * Closes an image the command changed, once its work is done. Every change was durable when its call returned
   * (the tool sets no commit window), so a closing checkpoint that fails (a full host file system, say) has lost
   * nothing: the WAL holds the changes, and the next open that can write replays them and checkpoints. That is a
   * warning, not a failure: a failing command promises to leave the image as it was.
   */
  void closeAfterChange(VirtualDisk disk) {
    closeAfterChange(disk, image, root().err());
  }

  static void closeAfterChange(VirtualDisk disk, Path image, PrintStream err) {
    try {
      disk.close();
    } catch (IOException e) {
      err.println("vde: warning: the change is saved, but closing the image failed: " + Failure.of(e, image)
          .message() + "; the next open that can write finishes the checkpoint");
      err.flush();
    }
  }

  /**
   * The engine would report a missing image as a bare host file error; checking first lets us say what to do.
   */
  void requireImage() throws CliException {
    if (Files.isDirectory(image)) {
      throw new CliException(image + ": is a directory, not an image file");
    }
    if (!Files.exists(image)) {
      throw new CliException(image + ": no such file; create it with 'vde create'");
    }
    if (!Files.isRegularFile(image)) {
      // A named pipe would block the open until some process writes to it (the command hung for good), and a
      // device reads as a file of 0 bytes ("not a vde image"): an image is always a regular file.
      throw new CliException(image + ": not a regular file (a pipe or a device?); an image is a file");
    }
  }

  /**
   * A failure about a path inside the image, worded as the engine words its own: the image follows in
   * parentheses, since a path like {@code /docs/a.txt} does not say which image it is in (and looks like a host
   * path).
   */
  CliException inImage(String message) {
    return new CliException(message + " (" + image + ")");
  }

  PrintStream out() {
    return root().out();
  }

  /** The top-level command, which holds the streams; reached through the root so nested commands work too. */
  VdeCommand root() {
    return (VdeCommand) spec.root().userObject();
  }

  /** A usage error (exit 1) found after parsing, reported like picocli's own. */
  ParameterException usageError(String message) {
    return new ParameterException(spec.commandLine(), message);
  }
}
