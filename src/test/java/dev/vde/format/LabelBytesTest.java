package dev.vde.format;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.check.Problem;
import dev.vde.check.VerifyReport;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.copy.CopyOptions;
import dev.vde.module.copy.ExtentAwareCopy;
import dev.vde.testing.PowerLossDevice;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A label that is not valid UTF-8 was read with replacement characters, which the next superblock write then
 * stored in place of the original bytes, without a word. It is damage (the engine writes only UTF-8): the
 * verifier reports it, it is shown with U+FFFD, and the stored bytes stay exactly as they were across writes.
 */
class LabelBytesTest {
  private static final int BS = 4096;
  /** Where the label lies in a superblock (FORMAT.md section 5). */
  private static final int LABEL = 184;
  /** "ab", a lone continuation byte, a lead byte followed by ASCII, "z", then a valid "é". */
  private static final byte[] DAMAGED = {'a', 'b', (byte) 0x80, (byte) 0xC3, 'z', (byte) 0xC3, (byte) 0xA9};

  private static byte[] block(PowerLossDevice dev, long no) throws Exception {
    byte[] b = new byte[BS];
    dev.read(no * BS, ByteBuffer.wrap(b));
    return b;
  }

  private static byte[] labelBytes(byte[] block) {
    return Arrays.copyOfRange(block, LABEL, LABEL + Superblock.LABEL_BYTES);
  }

  /** A closed volume with one file whose superblock copies both carry {@link #DAMAGED} as their label. */
  private static PowerLossDevice withDamagedLabel() throws Exception {
    return withLabelBytes(DAMAGED);
  }

  /** A closed volume with one file whose superblock copies both carry {@code label} (at most 64 bytes). */
  private static PowerLossDevice withLabelBytes(byte[] label) throws Exception {
    PowerLossDevice made = new PowerLossDevice("made");
    try (VirtualDisk d = VirtualDisk.create(made, CreateOptions.ofSize(4L << 20).blockSize(BS).label("good"))) {
      d.writeFile("/hello", new byte[] {1, 2, 3});
    }
    PowerLossDevice dev = PowerLossDevice.fromImage("label", made.snapshot());
    for (int slot = 0; slot < 2; slot++) {
      byte[] b = block(dev, slot);
      Arrays.fill(b, LABEL, LABEL + Superblock.LABEL_BYTES, (byte) 0);
      System.arraycopy(label, 0, b, LABEL, label.length);
      BlockCodec.seal(b, BlockType.SUPERBLOCK, BlockCodec.storedGeneration(b));
      dev.write((long) slot * BS, ByteBuffer.wrap(b));
    }
    dev.sync();
    return dev;
  }

  @Test
  void aLabelThatIsNotUtf8_isShownWithReplacements_andItsBytesSurviveSuperblockWrites() throws Exception {
    PowerLossDevice dev = withDamagedLabel();
    byte[] stored = labelBytes(block(dev, 0));
    long sequenceBefore = Superblock.read(block(dev, 1), 1, "test").sequence();
    try (VirtualDisk d = VirtualDisk.open(dev, OpenOptions.defaults())) {
      assertThat(d.isReadOnly()).isFalse();
      assertThat(d.info().label()).isEqualTo("ab\uFFFD\uFFFDzé");
      d.writeFile("/more", new byte[] {4});
    }
    PowerLossDevice written = PowerLossDevice.fromImage("written", dev.snapshot());
    Superblock after = Superblock.read(block(written, 1), 1, "test");
    assertThat(after.sequence()).as("the close checkpointed, writing both copies").isGreaterThan(sequenceBefore + 1);
    for (int slot = 0; slot < 2; slot++) {
      assertThat(HexFormat.of().formatHex(labelBytes(block(written, slot)))).as("label bytes of copy %d", slot)
          .isEqualTo(HexFormat.of().formatHex(stored));
    }
    try (VirtualDisk d = VirtualDisk.open(written, OpenOptions.readOnlyOptions())) {
      assertThat(d.readFile("/more")).containsExactly(4);
    }
  }

  @Test
  void theVerifierReportsALabelThatIsNotUtf8_inEachCopy() throws Exception {
    PowerLossDevice dev = withDamagedLabel();
    VerifyReport r;
    try (VirtualDisk d = VirtualDisk.open(dev, OpenOptions.readOnlyOptions())) {
      r = d.verify(Progress.NONE);
    }
    for (int slot = 0; slot < 2; slot++) {
      int copy = slot;
      assertThat(r.problems()).as("problems").anyMatch(p -> p.blockNo() == copy && p.structure().equals("superblock")
          && p.message().contains("superblock copy " + copy + " has a label that is not valid UTF-8")
          && p.message().contains("malformed from byte " + (LABEL + 2)));
    }
    assertThat(r.problems()).extracting(Problem::message).hasSize(2);
  }

  // Shown with U+FFFD (three bytes each), a damaged label can outgrow the 64 bytes a label may have: the copy took
  // the shown text as the new volume's label and refused it ("label is 66 bytes"), a copy the user could not
  // change by any option, over a field that locates nothing.
  @Test
  void aCopyOfAVolumeWhoseDamagedLabelGrowsPast64BytesWhenShown_getsTheShownLabelCutToFit() throws Exception {
    byte[] damaged = new byte[Superblock.LABEL_BYTES];
    Arrays.fill(damaged, (byte) 'x');
    damaged[60] = (byte) 0xFF;
    damaged[61] = (byte) 0xFE;
    PowerLossDevice dev = withLabelBytes(damaged);
    PowerLossDevice dest = new PowerLossDevice("copy");
    try (VirtualDisk d = VirtualDisk.open(dev, OpenOptions.readOnlyOptions())) {
      assertThat(d.info().label()).hasSize(64);
      ExtentAwareCopy.copy(d, dest, CopyOptions.defaults().verify(true));
    }
    try (VirtualDisk c = VirtualDisk.open(PowerLossDevice.fromImage("copied", dest.snapshot()),
        OpenOptions.readOnlyOptions())) {
      String expected = "x".repeat(60) + "\uFFFD";
      assertThat(c.info().label()).as("whole characters only, within 64 bytes").isEqualTo(expected);
      assertThat(c.readFile("/hello")).containsExactly(1, 2, 3);
      assertThat(c.verify(Progress.NONE).problems()).isEmpty();
    }
  }

  @Test
  void labelBytesDecodeAndEncodeBackToThemselves() {
    List<String> samples = List.of("", "61", "c3a9", "f09f9880", "e282ac41", "80", "ff", "c3", "c328", "e282",
        "eda080", "c080", "f4908080", "61ff62c3a963", "f09f98", "dcb0", "edb2b0");
    for (String hex : samples) {
      byte[] bytes = HexFormat.of().parseHex(hex);
      String decoded = Superblock.decodeLabel(bytes, 0, bytes.length);
      assertThat(HexFormat.of().formatHex(Superblock.encodeLabel(decoded))).as("bytes %s", hex).isEqualTo(hex);
    }
    assertThat(Superblock.encodeLabel("héllo 😀 \uDC80")).as("a label given as text (create refuses a lone "
        + "surrogate, so only a decoded one has them)").isEqualTo(new byte[] {'h', (byte) 0xC3, (byte) 0xA9, 'l',
            'l', 'o', ' ', (byte) 0xF0, (byte) 0x9F, (byte) 0x98, (byte) 0x80, ' ', (byte) 0x80});
  }
}
