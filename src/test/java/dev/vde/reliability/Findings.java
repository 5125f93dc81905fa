package dev.vde.reliability;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Collects the failures of a sweep so that one run reports all of them, with the list of failing crash indices
 * first: an engine bug usually fails a whole range of indices, and the range is the most useful clue. Also counts
 * the cases checked, which every sweep prints and asserts to be above a floor, so a sweep that silently checks
 * nothing fails.
 */
final class Findings {
  private static final int SHOWN = 20;
  private static final Pattern INDEX = Pattern.compile("crash index (\\d+)");

  private final String sweep;
  private final List<String> messages = new ArrayList<>();
  private long cases;

  Findings(String sweep) {
    this.sweep = sweep;
  }

  /** Records one checked case and the failures it found (none when it passed). */
  void add(List<String> found) {
    cases++;
    messages.addAll(found);
  }

  void fail(String message) {
    messages.add(message);
  }

  long cases() {
    return cases;
  }

  boolean isEmpty() {
    return messages.isEmpty();
  }

  /** Prints the count, fails when it is below {@code floor}, then fails with the findings if there are any. */
  void report(String what, long floor) {
    System.out.printf("[reliability] %s: %,d %s checked, %d failure(s)%n", sweep, cases, what, messages.size());
    if (cases < floor) {
      throw new AssertionError(sweep + ": only " + cases + " " + what + " checked, expected at least " + floor
          + " (a sweep that checks nothing proves nothing)");
    }
    assertNone();
  }

  void assertNone() {
    if (messages.isEmpty()) {
      return;
    }
    TreeSet<Long> indices = new TreeSet<>();
    for (String m : messages) {
      Matcher x = INDEX.matcher(m);
      if (x.find()) {
        indices.add(Long.parseLong(x.group(1)));
      }
    }
    StringBuilder sb = new StringBuilder();
    sb.append(sweep).append(": ").append(messages.size()).append(" failure(s) in ").append(cases)
        .append(" cases");
    if (!indices.isEmpty()) {
      sb.append("; failing crash indices ").append(indices);
    }
    sb.append("; the first ").append(Math.min(SHOWN, messages.size())).append(":\n");
    for (int i = 0; i < Math.min(SHOWN, messages.size()); i++) {
      sb.append("-- ").append(messages.get(i)).append('\n');
    }
    throw new AssertionError(sb.toString());
  }
}
