package dev.vde.crash;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Collects the failures of a sweep so that one run reports every failing crash point, not just the first: an
 * engine bug usually fails a whole range of indices, and the range is the most useful clue.
 */
final class Failures {
  private static final int SHOWN = 25;
  private static final Pattern CRASH_INDEX = Pattern.compile("crash index (\\d+)");

  private final List<String> messages = new ArrayList<>();
  private int cases;

  void addAll(List<String> found) {
    cases++;
    messages.addAll(found);
  }

  int cases() {
    return cases;
  }

  /** Fails with the count and the first failures when any case failed. */
  void assertNone(String sweep) {
    if (messages.isEmpty()) {
      return;
    }
    StringBuilder sb = new StringBuilder();
    sb.append(sweep).append(": ").append(messages.size()).append(" failure(s) in ").append(cases)
        .append(" checked cases; the first ").append(Math.min(SHOWN, messages.size())).append(":\n");
    TreeSet<Long> indices = new TreeSet<>();
    for (String m : messages) {
      Matcher x = CRASH_INDEX.matcher(m);
      if (x.find()) {
        indices.add(Long.parseLong(x.group(1)));
      }
    }
    sb.append("failing crash indices: ").append(indices).append('\n');
    for (int i = 0; i < Math.min(SHOWN, messages.size()); i++) {
      sb.append("-- ").append(messages.get(i)).append('\n');
    }
    throw new AssertionError(sb.toString());
  }
}
