package dev.vde.bench;

import java.util.ArrayList;
import java.util.List;

/** A markdown table. */
final class Table {
  private final List<String> header;
  private final List<List<String>> rows = new ArrayList<>();
  private boolean allLeft;

  Table(String... header) {
    this.header = List.of(header);
  }

  Table row(Object... cells) {
    List<String> r = new ArrayList<>();
    for (Object c : cells) {
      r.add(String.valueOf(c).replace("|", "\\|"));
    }
    while (r.size() < header.size()) {
      r.add("");
    }
    rows.add(r);
    return this;
  }

  /** Left-aligns every column (for tables of text); by default all but the first are right-aligned. */
  Table leftAligned() {
    allLeft = true;
    return this;
  }

  boolean isEmpty() {
    return rows.isEmpty();
  }

  String markdown() {
    StringBuilder b = new StringBuilder();
    b.append("| ").append(String.join(" | ", header)).append(" |\n");
    b.append("|");
    for (int i = 0; i < header.size(); i++) {
      b.append(i == 0 || allLeft ? " --- |" : " ---: |");
    }
    b.append('\n');
    for (List<String> r : rows) {
      b.append("| ").append(String.join(" | ", r)).append(" |\n");
    }
    return b.toString();
  }
}
