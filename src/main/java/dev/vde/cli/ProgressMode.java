package dev.vde.cli;

/** How long operations show their progress on stderr ({@code --progress}). */
enum ProgressMode {
  /** A bar when stderr is a terminal, nothing otherwise. */
  AUTO,
  /** Always a bar, even when stderr is redirected. */
  BAR,
  /**
   * One plain line per whole percent (at most one a second, at least one every 30 s) with the counts, rate and
   * ETA: for logs and files, where a bar's redraws pile up.
   */
  LINES,
  /** One JSON object per line, for programs that drive vde. */
  JSON,
  /** Nothing. */
  NONE
}
