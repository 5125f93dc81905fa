package dev.vde.cli;

import java.nio.file.Path;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Host file names typed on the command line (IMAGE, HOST_FILE, DIR). To Java an empty word is the current
 * directory, so {@code vde info ""} said ": is a directory" and {@code vde demo ""} failed inside the tool: an empty
 * name, a slip of a script whose variable was unset, is refused as a usage error instead.
 */
final class HostPath implements ITypeConverter<Path> {
  static final String EMPTY = "an empty word names no file";

  @Override
  public Path convert(String value) {
    if (value.isEmpty()) {
      throw new TypeConversionException(EMPTY);
    }
    return Path.of(value);
  }
}
