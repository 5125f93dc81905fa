package dev.vde.module;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeCorruptedException;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A Tags field whose bytes break the encoding of FORMAT.md section 17 is damage, never tags read as something else. */
class TagsFieldDamageTest {
  /** A field holding {@code entries} (each {@code {key, value}} as raw bytes) in the order given. */
  private static byte[] field(byte[][]... entries) {
    byte[] f = new byte[Tags.FIELD_BYTES];
    int p = 0;
    for (byte[][] e : entries) {
      f[p] = (byte) e[0].length;
      f[p + 1] = (byte) e[1].length;
      System.arraycopy(e[0], 0, f, p + 2, e[0].length);
      System.arraycopy(e[1], 0, f, p + 2 + e[0].length, e[1].length);
      p += 2 + e[0].length + e[1].length;
    }
    return f;
  }

  private static byte[][] entry(String key, String value) {
    return new byte[][] {key.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8)};
  }

  // Bytes that are not UTF-8 came back as U+FFFD, a key with '=' listed as "a=b=v", a repeated or unsorted key
  // was merged away, and bytes after the end were ignored; a later Tags.set then wrote the garbage back as tags.
  @Test
  void fieldsThatBreakTheEncodingAreReportedAsDamage() throws Exception {
    byte[] trailing = field(entry("b", "1"));
    trailing[100] = 7;
    byte[][] damaged = {
        field(new byte[][] {{(byte) 0xFF}, {'v'}}),
        field(new byte[][] {{'k'}, {(byte) 0xE2, (byte) 0x82}}),
        field(entry("a=b", "v")),
        field(entry("a\0", "v")),
        field(entry("a", "v\0")),
        field(entry("b", "1"), entry("a", "2")),
        field(entry("a", "1"), entry("a", "2")),
        trailing};
    try (VirtualDisk d = VirtualDisk.create(new PowerLossDevice("tags"), CreateOptions.ofSize(4L << 20)
        .module(Module.TAGS))) {
      d.writeFile("/f", new byte[] {1});
      // The verifier names the inode; the message of a read or a set names it too, beside the path.
      String where = "Tags field of /f (inode " + d.stat("/f").inode() + ")";
      for (byte[] f : damaged) {
        d.writeModuleField("/f", Module.TAGS, f);
        assertThatThrownBy(() -> Tags.list(d, "/f")).isInstanceOf(VdeCorruptedException.class)
            .hasMessageContaining(where);
        assertThatThrownBy(() -> Tags.set(d, "/f", "z", "z")).isInstanceOf(VdeCorruptedException.class)
            .hasMessageContaining(where);
        assertThatThrownBy(() -> Tags.remove(d, "/f", "z")).isInstanceOf(VdeCorruptedException.class)
            .hasMessageContaining(where);
        assertThat(d.readModuleField("/f", Module.TAGS)).as("a refused set leaves the field").isEqualTo(f);
      }
    }
  }

  @Test
  void validFieldsStillDecode() throws Exception {
    assertThat(Tags.decode(field(entry("a", ""), entry("b", "v=\u00E9")), "/f"))
        .containsExactly(Map.entry("a", ""), Map.entry("b", "v=\u00E9"));
    assertThat(Tags.decode(new byte[Tags.FIELD_BYTES], "/f")).isEmpty();
    byte[] full = field(entry("k", "x".repeat(Tags.FIELD_BYTES - 3)));
    assertThat(Tags.decode(full, "/f")).containsEntry("k", "x".repeat(Tags.FIELD_BYTES - 3));
    // Sorted in String order, which differs from UTF-8 byte order for characters above U+FFFF.
    Map<String, String> mixed = Map.of("\uFF61", "1", "\uD83D\uDE00", "2", "a", "3");
    assertThat(Tags.decode(Tags.encode(mixed, "/f"), "/f")).isEqualTo(mixed);
  }

  // verify (and so vde fsck) reported such a volume clean while every read of the file's tags failed.
  @Test
  void theVerifierReportsADamagedTagsField() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(new PowerLossDevice("tags"), CreateOptions.ofSize(4L << 20)
        .module(Module.TAGS))) {
      d.writeFile("/f", new byte[] {1});
      d.mkdir("/d");
      Tags.set(d, "/d", "k", "v");
      long n = d.stat("/f").inode();
      d.writeModuleField("/f", Module.TAGS, field(entry("b", "1"), entry("a", "2")));
      assertThat(d.verify(Progress.NONE).problems()).singleElement().satisfies(p -> assertThat(p.toString())
          .contains("inode " + n).contains("Tags field").contains("sorted"));
      d.writeModuleField("/f", Module.TAGS, field(entry("a", "2"), entry("b", "1")));
      assertThat(d.verify(Progress.NONE).problems()).isEmpty();
    }
  }

  // Tags.encode, public for updates of several tags in one transaction, checked only the total size: an empty key
  // ended the list (the tags after it were lost), and a 65-byte key or a key with '=' made a field read as damage.
  @Test
  void encodeRefusesWhatTheFieldCannotHold() throws Exception {
    for (Map<String, String> bad : List.of(Map.of("", "x", "a", "1"), Map.of("k".repeat(65), ""),
        Map.of("a=b", "v"), Map.of("a", "v\0"), Map.of("a", "\uD800"))) {
      assertThatThrownBy(() -> Tags.encode(bad, "/f")).as(bad.toString())
          .isInstanceOf(VdeInvalidArgumentException.class);
    }
    Map<String, String> ok = Map.of("k".repeat(64), "v".repeat(Tags.FIELD_BYTES - 66));
    assertThat(Tags.decode(Tags.encode(ok, "/f"), "/f")).isEqualTo(ok);
  }
}
