package dev.vde.cli;

/** How long operations show their progress on stderr ({@code --progress}). */
enum ProgressMode {
  /** A bar when stderr is a terminal, nothing otherwise. */
  AUTO,
  /** Always a bar, even when stderr is redirected. */
  BAR,
  /** One JSON object per line, for programs that drive vde. */
  JSON,
  /** Nothing. */
  NONE
}
