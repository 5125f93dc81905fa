package dev.vde;

/**
 * The image is damaged: a checksum, tag, bound or cross-reference does not hold. Carries the block number
 * (or -1 when the damage is not tied to one block) and the structure concerned, so the CLI and the verifier
 * can print them without parsing the message.
 */
public class VdeCorruptedException extends VdeException {
  private static final long serialVersionUID = 1L;

  private final long blockNo;
  private final String structure;

  public VdeCorruptedException(long blockNo, String structure, String what, String resource) {
    this(blockNo, structure, what, resource, null);
  }

  public VdeCorruptedException(long blockNo, String structure, String what, String resource, Throwable cause) {
    super(describe(blockNo, structure, what), resource, cause);
    this.blockNo = blockNo;
    this.structure = structure;
  }

  private static String describe(long blockNo, String structure, String what) {
    if (blockNo < 0) {
      return structure + ": " + what;
    }
    return String.format("block %,d (%s): %s", blockNo, structure, what);
  }

  /** Block number of the damage, or -1. */
  public long getBlockNo() {
    return blockNo;
  }

  /** Structure name such as "superblock", "inode table", "metadata WAL". */
  public String getStructure() {
    return structure;
  }
}
