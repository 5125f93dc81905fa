package dev.vde.cli;

import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Byte counts as people type them ({@code 65536}, {@code 64M}, {@code 1GiB}, {@code 512k}: suffixes are powers
 * of 1024) and as people read them ({@code 64.0 MiB}).
 */
final class ByteSize {
  private static final Pattern SYNTAX = Pattern.compile("(\\d+)\\s*([a-z]*)");
  private static final Map<String, Integer> SHIFT_BY_SUFFIX = Map.ofEntries(
      Map.entry("", 0), Map.entry("b", 0),
      Map.entry("k", 10), Map.entry("kib", 10),
      Map.entry("m", 20), Map.entry("mib", 20),
      Map.entry("g", 30), Map.entry("gib", 30),
      Map.entry("t", 40), Map.entry("tib", 40));
  private static final String[] UNITS = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

  private ByteSize() {}

  /** Parses a byte count; the message of the exception says what is accepted. */
  static long parse(String text) {
    Matcher m = SYNTAX.matcher(text.strip().toLowerCase(Locale.ROOT));
    Integer shift = m.matches() ? SHIFT_BY_SUFFIX.get(m.group(2)) : null;
    if (shift == null) {
      throw new TypeConversionException("'" + text + "' is not a size; use a byte count or a number with K, M, G"
          + " or T (powers of 1024), e.g. 64M or 1GiB");
    }
    try {
      long number = Long.parseLong(m.group(1));
      if (number > (Long.MAX_VALUE >> shift)) {
        throw new NumberFormatException();
      }
      return number << shift;
    } catch (NumberFormatException e) {
      throw new TypeConversionException("'" + text + "' is too large");
    }
  }

  /** "0 bytes", "512 bytes", "4.0 KiB", "1.5 GiB". */
  static String format(long bytes) {
    if (bytes < 1024) {
      return bytes + (bytes == 1 ? " byte" : " bytes");
    }
    int unit = 0;
    double value = bytes;
    while (value >= 1024 && unit < UNITS.length - 1) {
      value /= 1024;
      unit++;
    }
    return Numbers.fixed(value, 1) + " " + UNITS[unit];
  }

  /** Picocli converter for options that take a size in bytes. */
  static final class LongConverter implements ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
      return parse(value);
    }
  }

  /** Picocli converter for sizes that must fit an int, such as a block size. */
  static final class IntConverter implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      long bytes = parse(value);
      if (bytes > Integer.MAX_VALUE) {
        throw new TypeConversionException("'" + value + "' is too large");
      }
      return (int) bytes;
    }
  }
}
