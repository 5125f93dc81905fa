package dev.vde.check;

import java.util.List;
import java.util.Locale;

/** Wording shared by the verifier's messages, so every phase names blocks and counts the same way. */
final class Text {
  /** Claimants listed in one message before the rest is summarized as a count. */
  static final int MAX_LISTED = 6;

  private Text() {}

  static String num(long n) {
    return String.format(Locale.ROOT, "%,d", n);
  }

  /** "block 812" or "blocks 812..815 (4 blocks)". */
  static String blocks(long start, long count) {
    return count == 1 ? "block " + num(start)
        : "blocks " + num(start) + ".." + num(start + count - 1) + " (" + num(count) + " blocks)";
  }

  /** The verb that goes with {@link #blocks}. */
  static String is(long count) {
    return count == 1 ? "is" : "are";
  }

  /** "a, b and c", or "a, b, ... and 3 more" when the list is long. */
  static String list(List<String> items) {
    if (items.isEmpty()) {
      return "nothing known";
    }
    int shown = Math.min(items.size(), MAX_LISTED);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < shown; i++) {
      if (i > 0) {
        sb.append(i == items.size() - 1 ? " and " : ", ");
      }
      sb.append(items.get(i));
    }
    if (items.size() > shown) {
      sb.append(" and ").append(items.size() - shown).append(" more");
    }
    return sb.toString();
  }

  static String typeName(int type) {
    return switch (type) {
      case dev.vde.inode.Inode.TYPE_FILE -> "file";
      case dev.vde.inode.Inode.TYPE_DIRECTORY -> "directory";
      case dev.vde.inode.Inode.TYPE_FREE -> "free";
      default -> "unknown type " + type;
    };
  }
}
