package dev.vde.check;

/**
 * One finding of the verifier.
 *
 * @param blockNo block concerned, or -1
 * @param structure e.g. "superblock", "inode table", "directory tree"
 * @param message what is wrong, with expected and found values
 */
public record Problem(long blockNo, String structure, String message) {
  @Override
  public String toString() {
    return blockNo < 0 ? structure + ": " + message : String.format("block %,d (%s): %s", blockNo, structure, message);
  }
}
