package dev.vde.module;

import dev.vde.VdeCorruptedException;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.Bytes;
import dev.vde.format.Module;
import dev.vde.fs.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * The Tags module as a person uses it: key/value tags on files, kept in the inode's 136-byte TAGS field.
 *
 * <p>Encoding (documented in FORMAT.md): tags sorted by key, each as {@code u8 keyLength (1..64), u8 valueLength
 * (0..255), key (UTF-8), value (UTF-8)}; a key length of 0, or the end of the field, ends the list; the rest of
 * the field is zero. An all-zero field, the initial value, is the empty tag set. Keys may not contain '='.
 */
public final class Tags {
  public static final int FIELD_BYTES = Module.TAGS.inodeBytes();
  public static final int MAX_KEY_BYTES = 64;
  public static final int MAX_VALUE_BYTES = 255;

  private Tags() {}

  /**
   * Decodes a TAGS field; a malformed field is reported as damage to the inode of {@code path}. Besides lengths
   * that run past the field, bytes that are not UTF-8, a key with '=' or NUL, a value with NUL, keys out of order
   * or repeated, and non-zero bytes after the list are damage: read leniently they would come back as other tags
   * (U+FFFD, a key the CLI prints as "a=b=v", one of two values dropped), and the next set would store them.
   */
  public static TreeMap<String, String> decode(byte[] field, String path) throws VdeCorruptedException {
    return decode(field, path, -1);
  }

  /**
   * {@link #decode(byte[], String)} of the field of inode {@code inode} (or -1 when not known): damage names the
   * inode as well as the path, as the verifier's report does, so the two can be matched up and the inode found
   * again after a rename.
   */
  public static TreeMap<String, String> decode(byte[] field, String path, long inode) throws VdeCorruptedException {
    String where = inode < 0 ? path : path + " (inode " + inode + ")";
    TreeMap<String, String> out = new TreeMap<>();
    int p = 0;
    while (p < field.length) {
      int kl = field[p] & 0xFF;
      if (kl == 0) {
        break;
      }
      if (p + 2 > field.length) {
        throw damaged(where, "entry header at byte " + p + " runs past the field");
      }
      int vl = field[p + 1] & 0xFF;
      if (kl > MAX_KEY_BYTES || p + 2 + kl + vl > field.length) {
        throw damaged(where, "entry at byte " + p + " (key " + kl + " bytes, value " + vl + " bytes) runs past the"
            + " field");
      }
      String k = utf8(field, p + 2, kl, where, "key");
      String v = utf8(field, p + 2 + kl, vl, where, "value");
      if (k.indexOf('=') >= 0 || k.indexOf('\0') >= 0 || v.indexOf('\0') >= 0) {
        throw damaged(where, "entry at byte " + p + " has '=' or NUL in its key or NUL in its value");
      }
      if (!out.isEmpty() && out.lastKey().compareTo(k) >= 0) {
        throw damaged(where, "entry at byte " + p + " (key '" + k + "') is not after key '" + out.lastKey() + "'; "
            + "keys are sorted and unique");
      }
      out.put(k, v);
      p += 2 + kl + vl;
    }
    if (p < field.length && !Bytes.isZero(field, p, field.length - p)) {
      throw damaged(where, "non-zero bytes after the last entry (bytes " + p + ".." + (field.length - 1)
          + " must be zero)");
    }
    return out;
  }

  private static String utf8(byte[] field, int off, int len, String path, String what) throws VdeCorruptedException {
    try {
      return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(field, off, len)).toString();
    } catch (CharacterCodingException e) {
      throw damaged(path, "the " + what + " at byte " + off + " is not UTF-8");
    }
  }

  private static VdeCorruptedException damaged(String path, String what) {
    return new VdeCorruptedException(-1, "Tags field of " + path, what, null);
  }

  /** Bytes the encoding of {@code tags} takes. */
  public static int encodedSize(Map<String, String> tags) {
    int n = 0;
    for (Map.Entry<String, String> e : tags.entrySet()) {
      n += 2 + utf8(e.getKey()).length + utf8(e.getValue()).length;
    }
    return n;
  }

  /**
   * Encodes into a field of {@link #FIELD_BYTES}; refuses sets that do not fit and keys or values {@link #set}
   * refuses, since such an entry would end the list early (an empty key) or make the field read as damage.
   */
  public static byte[] encode(Map<String, String> tags, String path) throws VdeInvalidArgumentException {
    for (Map.Entry<String, String> e : tags.entrySet()) {
      checkKey(e.getKey());
      checkValue(e.getValue());
    }
    int need = encodedSize(tags);
    if (need > FIELD_BYTES) {
      throw new VdeInvalidArgumentException("tags of " + path + " would need " + need + " bytes; the Tags field "
          + "holds " + FIELD_BYTES + " (remove a tag or shorten values)");
    }
    byte[] f = new byte[FIELD_BYTES];
    int p = 0;
    for (Map.Entry<String, String> e : new TreeMap<>(tags).entrySet()) {
      byte[] k = utf8(e.getKey());
      byte[] v = utf8(e.getValue());
      f[p] = (byte) k.length;
      f[p + 1] = (byte) v.length;
      System.arraycopy(k, 0, f, p + 2, k.length);
      System.arraycopy(v, 0, f, p + 2 + k.length, v.length);
      p += 2 + k.length + v.length;
    }
    return f;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static void checkKey(String key) throws VdeInvalidArgumentException {
    int n = utf8(key).length;
    if (n == 0 || n > MAX_KEY_BYTES || key.indexOf('=') >= 0 || key.indexOf('\0') >= 0
        || Bytes.unpairedSurrogate(key) >= 0) {
      throw new VdeInvalidArgumentException("tag key '" + key + "' must be 1.." + MAX_KEY_BYTES
          + " bytes of UTF-8 (valid Unicode) without '=' or NUL");
    }
  }

  static void checkValue(String value) throws VdeInvalidArgumentException {
    if (utf8(value).length > MAX_VALUE_BYTES || value.indexOf('\0') >= 0 || Bytes.unpairedSurrogate(value) >= 0) {
      throw new VdeInvalidArgumentException("tag value must be at most " + MAX_VALUE_BYTES
          + " bytes of UTF-8 (valid Unicode) without NUL");
    }
  }

  /** All tags of a file, sorted by key. */
  public static TreeMap<String, String> list(VirtualDisk disk, String path) throws IOException {
    return disk.readModuleField(path, Module.TAGS, (inode, field) -> decode(field, path, inode));
  }

  /** One tag's value, or null. */
  public static String get(VirtualDisk disk, String path, String key) throws IOException {
    checkKey(key);
    return list(disk, path).get(key);
  }

  /** Sets (adds or replaces) one tag, atomically. */
  public static void set(VirtualDisk disk, String path, String key, String value) throws IOException {
    checkKey(key);
    checkValue(value);
    disk.updateModuleField(path, Module.TAGS, (inode, cur) -> {
      TreeMap<String, String> tags = decode(cur, path, inode);
      tags.put(key, value);
      return encode(tags, path);
    });
  }

  /** Removes one tag; returns whether it existed. */
  public static boolean remove(VirtualDisk disk, String path, String key) throws IOException {
    checkKey(key);
    boolean[] existed = {false};
    disk.updateModuleField(path, Module.TAGS, (inode, cur) -> {
      TreeMap<String, String> tags = decode(cur, path, inode);
      existed[0] = tags.remove(key) != null;
      return encode(tags, path);
    });
    return existed[0];
  }
}
