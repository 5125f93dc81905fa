package dev.vde.cli;

import java.util.ArrayList;
import java.util.List;

/** Rows of text in aligned columns, for human-readable listings. Numbers read best right-aligned. */
final class TextTable {
  private final boolean[] rightAligned;
  private final List<String[]> rows = new ArrayList<>();

  /** One flag per column: true to align that column to the right. */
  TextTable(boolean... rightAligned) {
    this.rightAligned = rightAligned.clone();
  }

  TextTable row(Object... cells) {
    if (cells.length != rightAligned.length) {
      throw new IllegalArgumentException("expected " + rightAligned.length + " cells, got " + cells.length);
    }
    String[] text = new String[cells.length];
    for (int i = 0; i < cells.length; i++) {
      text[i] = Printable.of(String.valueOf(cells[i]));
    }
    rows.add(text);
    return this;
  }

  boolean isEmpty() {
    return rows.isEmpty();
  }

  /** The rows, each line prefixed by {@code indent}, columns two spaces apart, no trailing blanks. */
  List<String> lines(String indent) {
    int[] widths = new int[rightAligned.length];
    for (String[] row : rows) {
      for (int i = 0; i < row.length; i++) {
        widths[i] = Math.max(widths[i], row[i].length());
      }
    }
    List<String> out = new ArrayList<>(rows.size());
    for (String[] row : rows) {
      StringBuilder line = new StringBuilder(indent);
      for (int i = 0; i < row.length; i++) {
        if (i > 0) {
          line.append("  ");
        }
        String pad = " ".repeat(widths[i] - row[i].length());
        line.append(rightAligned[i] ? pad + row[i] : row[i] + pad);
      }
      out.add(line.toString().stripTrailing());
    }
    return out;
  }
}
