package dev.vde.cli;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * Numbers as the tool prints them: thousands grouped with commas, fixed decimals with a point, whatever the locale.
 *
 * <p>Not {@link String#format}: its first use in a process loads the formatter and the locale's number data, about
 * 20 ms of a command's start-up, which for the commands compared with native tools (copy, migration) is most of
 * what printing their one-line summary costs.
 */
final class Numbers {
  private Numbers() {}

  /** {@code 1234567} as "1,234,567". */
  static String grouped(long n) {
    return group(Long.toString(n));
  }

  /** An integer's decimal digits (with a leading '-' if negative), grouped by threes. */
  private static String group(String digits) {
    int sign = digits.startsWith("-") ? 1 : 0;
    int len = digits.length() - sign;
    if (len <= 3) {
      return digits;
    }
    StringBuilder b = new StringBuilder(digits.length() + len / 3);
    b.append(digits, 0, sign);
    int first = len % 3 == 0 ? 3 : len % 3;
    b.append(digits, sign, sign + first);
    for (int i = sign + first; i < digits.length(); i += 3) {
      b.append(',').append(digits, i, i + 3);
    }
    return b.toString();
  }

  /** {@code x} rounded half up to {@code decimals} places: {@code fixed(2.345, 2)} is "2.35"; NaN stays "NaN". */
  static String fixed(double x, int decimals) {
    if (!Double.isFinite(x)) {
      return Double.toString(x);
    }
    return BigDecimal.valueOf(x).setScale(decimals, RoundingMode.HALF_UP).toPlainString();
  }

  /** {@code x} rounded half up to a whole number, grouped: {@code groupedWhole(1234.5)} is "1,235". */
  static String groupedWhole(double x) {
    if (!Double.isFinite(x)) {
      return Double.toString(x);
    }
    return group(BigDecimal.valueOf(x).setScale(0, RoundingMode.HALF_UP).toPlainString());
  }
}
