package dev.vde.format;

import java.nio.charset.StandardCharsets;

/**
 * The type tags carried in every block trailer: four ASCII bytes, stored in the order written, which read as a
 * little-endian u32 (for example {@code SUPB} is {@code 0x42505553}).
 */
public enum BlockType {
  SUPERBLOCK("SUPB", "superblock"),
  REGION_DIRECTORY("RDIR", "region directory"),
  BITMAP("BMAP", "allocation bitmap"),
  INODE_TABLE("INOD", "inode table"),
  WAL_DESCRIPTOR("MWAL", "metadata WAL descriptor"),
  WAL_COMMIT("MCMT", "metadata WAL commit record"),
  DATA("DATA", "file data"),
  DIRECTORY("DIRE", "directory"),
  EXTENT("XTNT", "indirect extent block"),
  MIGRATION_CHECKPOINT("MCHK", "migration checkpoint"),
  MODULE_REGION("MODR", "module region");

  private final String ascii;
  private final int tag;
  private final String structure;

  BlockType(String ascii, String structure) {
    this.ascii = ascii;
    this.tag = tagOf(ascii);
    this.structure = structure;
  }

  /** The u32 value of a four-character ASCII tag as stored little-endian. */
  public static int tagOf(String ascii) {
    byte[] b = ascii.getBytes(StandardCharsets.US_ASCII);
    if (b.length != 4) {
      throw new IllegalArgumentException("tag must be 4 ASCII characters: " + ascii);
    }
    return (b[0] & 0xFF) | (b[1] & 0xFF) << 8 | (b[2] & 0xFF) << 16 | (b[3] & 0xFF) << 24;
  }

  /** Renders a stored tag for messages: its ASCII when printable, else hex. */
  public static String describeTag(int tag) {
    StringBuilder sb = new StringBuilder(4);
    for (int i = 0; i < 4; i++) {
      int c = (tag >>> (8 * i)) & 0xFF;
      if (c < 0x20 || c > 0x7E) {
        return String.format("0x%08x", tag);
      }
      sb.append((char) c);
    }
    return sb.toString();
  }

  /** The type whose tag is {@code tag}, or null. */
  public static BlockType fromTag(int tag) {
    for (BlockType t : values()) {
      if (t.tag == tag) {
        return t;
      }
    }
    return null;
  }

  public String ascii() {
    return ascii;
  }

  public int tag() {
    return tag;
  }

  /** Name used in error messages, for example "inode table". */
  public String structure() {
    return structure;
  }
}
