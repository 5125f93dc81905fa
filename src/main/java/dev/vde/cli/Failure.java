package dev.vde.cli;

import dev.vde.VdeException;
import dev.vde.VdeNoSpaceException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileLockInterruptionException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

/**
 * What the user is told about an exception: one line of text and the exit code. Engine exceptions already
 * carry a message written for people (with the resource concerned); host file system exceptions are worded
 * here, since their own messages are often just a path.
 */
record Failure(String message, int exitCode) {

  static Failure of(Throwable ex) {
    return of(ex, null);
  }

  /**
   * @param image the image the command worked on, or null; named when the engine's message does not say which
   *     file it is about (paths inside a volume look like host paths otherwise)
   */
  static Failure of(Throwable ex, Path image) {
    if (ex instanceof UncheckedIOException unchecked && unchecked.getCause() != null) {
      return of(unchecked.getCause(), image);
    }
    if (ex instanceof CliException cli) {
      return new Failure(cli.isPrintable() ? cli.getMessage().strip() : oneLine(cli.getMessage()), cli.exitCode());
    }
    if (isInterruption(ex)) {
      return new Failure("interrupted", ExitCodes.INTERRUPTED);
    }
    if (ex instanceof VdeException vde) {
      String message = orDefault(vde.getMessage(), "the operation failed");
      if (vde.getResourceDescription() == null && image != null) {
        message += " (" + image + ")";
      }
      if (vde instanceof VdeNoSpaceException full && !full.saysWhatToDo() && !message.contains("host file system")) {
        message += "; make room with 'vde rm' or create a larger image";
      }
      return new Failure(oneLine(message), ExitCodes.FAILED);
    }
    if (ex instanceof FileSystemException fs) {
      return new Failure(oneLine(describe(fs)), ExitCodes.FAILED);
    }
    if (ex instanceof java.nio.file.InvalidPathException bad) {
      // A name the host cannot take: a NUL, or characters outside the file-name encoding of a non-UTF-8 locale.
      boolean nonAscii = bad.getInput().chars().anyMatch(c -> c > 0x7f);
      return new Failure(oneLine("cannot use '" + bad.getInput() + "' as a host file name: " + bad.getReason()
          + (nonAscii ? " (the host's locale is not UTF-8; set LANG=C.UTF-8)" : "")), ExitCodes.FAILED);
    }
    if (ex instanceof IOException io && io.getCause() != null && io.getCause().toString().equals(io.getMessage())) {
      // new IOException(cause) copies the cause's class name into its message; describe the cause instead.
      return of(io.getCause(), image);
    }
    if (ex instanceof IOException io) {
      // The host's own error ("No space left on device", "File too large"): say it is the host's, and where.
      String message = "host file system: " + orDefault(io.getMessage(), "input/output error");
      if (image != null) {
        message += " (" + image + ")";
      }
      return new Failure(oneLine(message), ExitCodes.FAILED);
    }
    if (ex instanceof OutOfMemoryError oom) {
      // Not a defect: the work needs more heap than this JVM has (a listing of a very large tree, say).
      return new Failure(oneLine("out of memory (" + orDefault(oom.getMessage(), "Java heap space")
          + "); run Java with a larger heap (-Xmx; for the vde tool, e.g. JAVA_TOOL_OPTIONS=-Xmx2g)"),
          ExitCodes.FAILED);
    }
    String detail = ex.getMessage() == null ? "unexpected failure" : joinLines(ex.getMessage());
    return new Failure("internal error: " + detail + "; please report it with the output of --debug",
        ExitCodes.INTERNAL_ERROR);
  }

  private static boolean isInterruption(Throwable ex) {
    return ex instanceof InterruptedException
        || ex instanceof InterruptedIOException
        || ex instanceof ClosedByInterruptException
        || ex instanceof FileLockInterruptionException;
  }

  /** Host file errors: the JDK puts only the path in the message and the meaning in the class. */
  private static String describe(FileSystemException fs) {
    String file = fs.getFile() == null ? "" : fs.getFile() + ": ";
    String what;
    if (fs instanceof NoSuchFileException) {
      what = "no such file or directory";
    } else if (fs instanceof FileAlreadyExistsException) {
      what = "already exists";
    } else if (fs instanceof AccessDeniedException) {
      what = "permission denied";
    } else if (fs instanceof NotDirectoryException) {
      what = "not a directory";
    } else if (fs instanceof DirectoryNotEmptyException) {
      what = "directory not empty";
    } else {
      what = orDefault(fs.getReason(), "input/output error");
    }
    return file + what;
  }

  private static String orDefault(String text, String fallback) {
    return text == null || text.isBlank() ? fallback : text;
  }

  /**
   * Messages must stay on one line so scripts can read the first line of stderr as the error. They name paths
   * inside a volume, which may hold any character but '/' and NUL: control characters are shown escaped, as in
   * every listing ({@link Printable}), so a newline in a name neither splits the line nor reads as a space (which
   * would name another file), and an escape sequence in one never reaches the terminal.
   */
  static String oneLine(String text) {
    return text == null ? "" : Printable.of(text.strip());
  }

  /**
   * For text that may be laid out over several lines on purpose (a message of the JVM's or of the command-line
   * parser): its line breaks become spaces, then anything else is made printable as in {@link #oneLine}.
   */
  static String joinLines(String text) {
    return text == null ? "" : oneLine(text.strip().replaceAll("\\s*\\R\\s*", " "));
  }
}
