package dev.vde.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** Repeated measurements of one quantity: median, minimum and maximum, and their text forms. */
final class Stats {
  private final List<Double> samples = new ArrayList<>();

  Stats add(double v) {
    samples.add(v);
    return this;
  }

  int count() {
    return samples.size();
  }

  boolean isEmpty() {
    return samples.isEmpty();
  }

  double median() {
    double[] s = sorted();
    if (s.length == 0) {
      return Double.NaN;
    }
    int m = s.length / 2;
    return s.length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
  }

  double min() {
    double[] s = sorted();
    return s.length == 0 ? Double.NaN : s[0];
  }

  double max() {
    double[] s = sorted();
    return s.length == 0 ? Double.NaN : s[s.length - 1];
  }

  private double[] sorted() {
    double[] s = samples.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(s);
    return s;
  }

  /** "median (min–max)" of seconds, e.g. "1.23 s (1.20–1.31)". */
  String seconds() {
    if (isEmpty()) {
      return "n/a";
    }
    if (count() == 1) {
      return secs(median());
    }
    return secs(median()) + " (" + num(min()) + "–" + num(max()) + ")";
  }

  /** "median (min–max)" with a unit and a scale applied to each sample. */
  String scaled(double scale, String unit) {
    if (isEmpty()) {
      return "n/a";
    }
    String m = num(median() * scale) + (unit.isEmpty() ? "" : " " + unit);
    if (count() == 1) {
      return m;
    }
    return m + " (" + num(min() * scale) + "–" + num(max() * scale) + ")";
  }

  /** Three significant digits, without exponent for everyday magnitudes. */
  static String num(double v) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      return "n/a";
    }
    double a = Math.abs(v);
    if (a >= 1000) {
      return String.format(Locale.ROOT, "%,.0f", v);
    }
    if (a >= 100) {
      return String.format(Locale.ROOT, "%.0f", v);
    }
    if (a >= 10) {
      return String.format(Locale.ROOT, "%.1f", v);
    }
    if (a >= 1) {
      return String.format(Locale.ROOT, "%.2f", v);
    }
    if (a >= 0.01) {
      return String.format(Locale.ROOT, "%.3f", v);
    }
    return String.format(Locale.ROOT, "%.2g", v);
  }

  static String secs(double s) {
    return num(s) + " s";
  }

  /** A ratio such as "1.84x". */
  static String ratio(double r) {
    return Double.isNaN(r) || Double.isInfinite(r) ? "n/a" : num(r) + "x";
  }

  static String mibPerSec(double bytes, double seconds) {
    return num(bytes / seconds / (1 << 20)) + " MiB/s";
  }

  static String percentile(long[] sortedNanos, double p, double scale) {
    if (sortedNanos.length == 0) {
      return "n/a";
    }
    return num(at(sortedNanos, p) * scale);
  }

  /** The {@code p}-quantile (0..1) of sorted values, nearest rank. */
  static long at(long[] sorted, double p) {
    if (sorted.length == 0) {
      return 0;
    }
    int i = (int) Math.ceil(p * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
  }
}
