package dev.vde.format;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** Little-endian access to byte arrays, the byte order of every vde structure. */
public final class Bytes {
  private static final VarHandle U16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle U32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle U64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private Bytes() {}

  public static int u8(byte[] b, int off) {
    return b[off] & 0xFF;
  }

  public static int u16(byte[] b, int off) {
    return ((short) U16.get(b, off)) & 0xFFFF;
  }

  public static int i32(byte[] b, int off) {
    return (int) U32.get(b, off);
  }

  public static long u32(byte[] b, int off) {
    return ((int) U32.get(b, off)) & 0xFFFFFFFFL;
  }

  public static long i64(byte[] b, int off) {
    return (long) U64.get(b, off);
  }

  public static void put8(byte[] b, int off, int v) {
    b[off] = (byte) v;
  }

  public static void put16(byte[] b, int off, int v) {
    U16.set(b, off, (short) v);
  }

  public static void put32(byte[] b, int off, int v) {
    U32.set(b, off, v);
  }

  public static void put64(byte[] b, int off, long v) {
    U64.set(b, off, v);
  }

  /** True when every byte in {@code [off, off+len)} is zero. */
  public static boolean isZero(byte[] b, int off, int len) {
    int i = off;
    int end = off + len;
    for (; i + 8 <= end; i += 8) {
      if ((long) U64.get(b, i) != 0) {
        return false;
      }
    }
    for (; i < end; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return true;
  }

  /**
   * The index of the first char of {@code s} that is a surrogate but not half of a pair, or -1. Such a string has
   * no UTF-8 form: {@code getBytes(UTF_8)} silently puts '?' in its place, so what is stored would differ from
   * what was asked.
   */
  public static int unpairedSurrogate(String s) {
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      if (Character.isHighSurrogate(ch) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(ch)) {
        return i;
      }
    }
    return -1;
  }
}
