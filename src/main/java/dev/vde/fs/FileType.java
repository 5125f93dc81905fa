package dev.vde.fs;

/** Kinds of inode visible through the API. */
public enum FileType {
  FILE,
  DIRECTORY;

  /** Lower-case name used in JSON and listings. */
  public String jsonName() {
    return this == FILE ? "file" : "directory";
  }
}
