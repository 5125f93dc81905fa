package dev.vde.fs;

import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.inode.Inode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Directory blocks (DIRE): the entries of one directory, packed. Layout: u16 count, u16 usedBytes (bytes of
 * entries after the 8-byte header), u32 reserved, then entries {@code u32 inode, u8 type, u8 nameLength,
 * name (UTF-8, 1..255 bytes)}. The trailer generation is the directory's inode number.
 */
public final class DirectoryBlockCodec {
  public static final int HEADER_SIZE = 8;
  public static final int ENTRY_OVERHEAD = 6;
  public static final int MAX_NAME_BYTES = 255;

  private DirectoryBlockCodec() {}

  /** One directory entry. */
  public record Entry(String name, long inode, int type) {
    public int encodedSize() {
      return ENTRY_OVERHEAD + name.getBytes(StandardCharsets.UTF_8).length;
    }
  }

  /** Bytes available for entries in one block. */
  public static int capacity(int blockSize) {
    return blockSize - BlockCodec.TRAILER_SIZE - HEADER_SIZE;
  }

  public static byte[] write(int blockSize, List<Entry> entries, long dirInode) {
    byte[] b = new byte[blockSize];
    int p = HEADER_SIZE;
    for (Entry e : entries) {
      byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
      Bytes.put32(b, p, (int) e.inode());
      Bytes.put8(b, p + 4, e.type());
      Bytes.put8(b, p + 5, name.length);
      System.arraycopy(name, 0, b, p + ENTRY_OVERHEAD, name.length);
      p += ENTRY_OVERHEAD + name.length;
    }
    if (p > blockSize - BlockCodec.TRAILER_SIZE) {
      throw new IllegalStateException("directory entries overflow the block");
    }
    Bytes.put16(b, 0, entries.size());
    Bytes.put16(b, 2, p - HEADER_SIZE);
    BlockCodec.seal(b, BlockType.DIRECTORY, (int) dirInode);
    return b;
  }

  /**
   * Bytes of entries in a verified DIRE block, checked against the block: what {@link #append} extends, so that
   * adding a name costs neither decoding the block nor encoding it again.
   */
  public static int usedBytes(byte[] b, long blockNo, String resource) throws VdeCorruptedException {
    int used = Bytes.u16(b, 2);
    if (HEADER_SIZE + used > b.length - BlockCodec.TRAILER_SIZE) {
      throw new VdeCorruptedException(blockNo, "directory", "used bytes " + used + " exceed the block", resource);
    }
    return used;
  }

  /**
   * Appends {@code e} to the entries of {@code b} (unsealed: the caller's transaction seals it), which must have
   * room for it: {@link #capacity} minus {@link #usedBytes} at least {@link Entry#encodedSize}.
   */
  public static void append(byte[] b, Entry e) {
    byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
    int used = Bytes.u16(b, 2);
    int p = HEADER_SIZE + used;
    if (p + ENTRY_OVERHEAD + name.length > b.length - BlockCodec.TRAILER_SIZE) {
      throw new IllegalStateException("directory entry does not fit the block");
    }
    Bytes.put32(b, p, (int) e.inode());
    Bytes.put8(b, p + 4, e.type());
    Bytes.put8(b, p + 5, name.length);
    System.arraycopy(name, 0, b, p + ENTRY_OVERHEAD, name.length);
    Bytes.put16(b, 0, Bytes.u16(b, 0) + 1);
    Bytes.put16(b, 2, used + ENTRY_OVERHEAD + name.length);
  }

  /** The UTF-8 name at {@code b[off, off + len)}, or null when those bytes are not valid UTF-8. */
  private static String decodeName(byte[] b, int off, int len) {
    String name = new String(b, off, len, StandardCharsets.UTF_8);
    if (name.indexOf('\uFFFD') < 0) {
      return name;
    }
    // The replacement character: either in the name itself, or standing for bytes that are not UTF-8.
    try {
      return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(b, off, len)).toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      return null;
    }
  }

  /**
   * Decodes a verified DIRE block, checking every length against the block and every entry's inode (not 0),
   * type (file or directory) and name (UTF-8, without '/' or NUL, neither "." nor "..").
   */
  public static List<Entry> read(byte[] b, long blockNo, String resource) throws VdeCorruptedException {
    int count = Bytes.u16(b, 0);
    int used = Bytes.u16(b, 2);
    int limit = b.length - BlockCodec.TRAILER_SIZE;
    if (HEADER_SIZE + used > limit) {
      throw new VdeCorruptedException(blockNo, "directory", "used bytes " + used + " exceed the block", resource);
    }
    List<Entry> out = new ArrayList<>(count);
    int p = HEADER_SIZE;
    int end = HEADER_SIZE + used;
    for (int i = 0; i < count; i++) {
      if (p + ENTRY_OVERHEAD > end) {
        throw new VdeCorruptedException(blockNo, "directory", "entry " + i + " of " + count + " runs past used bytes",
            resource);
      }
      long ino = Bytes.u32(b, p);
      int type = Bytes.u8(b, p + 4);
      int len = Bytes.u8(b, p + 5);
      if (len == 0 || p + ENTRY_OVERHEAD + len > end) {
        throw new VdeCorruptedException(blockNo, "directory", "entry " + i + " has bad name length " + len, resource);
      }
      String name = decodeName(b, p + ENTRY_OVERHEAD, len);
      String bad = ino == 0 ? "names inode 0, which is never used"
          : type != Inode.TYPE_FILE && type != Inode.TYPE_DIRECTORY ? "has unknown type " + type
          : name == null ? "has a name that is not valid UTF-8"
          : name.equals(".") || name.equals("..") ? "is named '" + name + "'"
          : name.indexOf('/') >= 0 || name.indexOf('\0') >= 0 ? "has a name with '/' or NUL in it" : null;
      if (bad != null) {
        // Paths are split at '/', and "." or ".." would name another directory: such an entry could make a path
        // lead back up the tree (and a recursive walk never end), or hide another entry.
        throw new VdeCorruptedException(blockNo, "directory", "entry " + i + " " + bad, resource);
      }
      out.add(new Entry(name, ino, type));
      p += ENTRY_OVERHEAD + len;
    }
    if (p != end) {
      throw new VdeCorruptedException(blockNo, "directory",
          "entries end at " + p + " but used bytes say " + end, resource);
    }
    return out;
  }
}
