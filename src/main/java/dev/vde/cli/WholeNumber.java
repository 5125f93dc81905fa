package dev.vde.cli;

import java.math.BigInteger;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Counts typed on the command line ({@code --inodes}, {@code --files}, {@code --max-iops}, ...). Picocli's own
 * conversion says "'1x' is not an int", in Java's words, and says the same of a number that is merely too large
 * for the option's type; these converters say which of the two it is, as {@link ByteSize} does for sizes.
 */
final class WholeNumber {
  private WholeNumber() {}

  static long parse(String text, long min, long max) {
    String t = text.strip();
    if (!t.matches("[+-]?\\d+")) {
      throw new TypeConversionException("'" + text + "' is not a whole number");
    }
    // Compared as written, so a number beyond even a long is "too large", not "not a number".
    BigInteger value = new BigInteger(t);
    // The type's bound only: each command checks its option's own range and names it (--files 1 to 1000000).
    if (value.compareTo(BigInteger.valueOf(min)) < 0 || value.compareTo(BigInteger.valueOf(max)) > 0) {
      throw new TypeConversionException("'" + text + "' is too " + (value.signum() < 0 ? "small" : "large"));
    }
    return value.longValueExact();
  }

  /** For options of type int. */
  static final class IntConverter implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      return (int) parse(value, Integer.MIN_VALUE, Integer.MAX_VALUE);
    }
  }

  /** For options of type long. */
  static final class LongConverter implements ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
      return parse(value, Long.MIN_VALUE, Long.MAX_VALUE);
    }
  }
}
