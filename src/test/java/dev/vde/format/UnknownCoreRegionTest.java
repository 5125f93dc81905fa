package dev.vde.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeCorruptedException;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A core region (flags bit 0 clear) whose tag format 1.0 does not define was accepted and then ignored: a damaged
 * tag made a region nobody's, and a later format's region was written around. No feature bit announces core
 * regions, so such an entry is damage: open refuses it, read-only too, naming the directory block and the tag, and
 * the directory's invariants (which the verifier reports) include it.
 */
class UnknownCoreRegionTest {
  private static final int BS = 512;
  private static final int ABCD = BlockType.tagOf("ABCD");

  /**
   * A closed 512-byte-block volume (four region-directory blocks, the entries in the first) whose second directory
   * block also lists {@code extra}, resealed so that only the entry itself is wrong.
   */
  private static PowerLossDevice volumeListing(RegionDirectory.Entry extra, long[] directoryBlock)
      throws Exception {
    PowerLossDevice made = new PowerLossDevice("made");
    try (VirtualDisk d = VirtualDisk.create(made, CreateOptions.ofSize(4L << 20).blockSize(BS))) {
      d.writeFile("/hello", new byte[] {1, 2, 3});
    }
    PowerLossDevice dev = PowerLossDevice.fromImage("tagged", made.snapshot());
    byte[] sbBlock = new byte[BS];
    dev.read(BS, ByteBuffer.wrap(sbBlock));
    Superblock sb = Superblock.read(sbBlock, 1, "test");
    assertThat(sb.regionDirBlocks()).as("directory blocks at %d bytes", BS).isEqualTo(4);
    long blockNo = sb.regionDirStart() + 1;
    byte[] b = new RegionDirectory(List.of(extra)).write(BS, 1).get(0);
    BlockCodec.seal(b, BlockType.REGION_DIRECTORY, 1);
    dev.write(blockNo * BS, ByteBuffer.wrap(b));
    dev.sync();
    directoryBlock[0] = blockNo;
    return dev;
  }

  @Test
  void aCoreEntryWithAnUnknownTag_isRefusedAtOpen_namingItsBlockAndTag() throws Exception {
    long[] at = new long[1];
    PowerLossDevice dev = volumeListing(new RegionDirectory.Entry(ABCD, 0, 3000, 4), at);
    byte[] before = dev.snapshot();
    for (OpenOptions o : List.of(OpenOptions.defaults(), OpenOptions.readOnlyOptions())) {
      assertThatThrownBy(() -> VirtualDisk.open(PowerLossDevice.fromImage("open", before), o))
          .as("read-only %s", o.readOnly())
          .isInstanceOf(VdeCorruptedException.class)
          .hasMessageContaining("block " + at[0])
          .hasMessageContaining("region directory")
          .hasMessageContaining("region ABCD (tag 0x" + String.format("%08x", ABCD) + ") at 3000+4")
          .hasMessageContaining("format 1.0 does not define");
    }
    assertThat(dev.snapshot()).as("a refused open writes nothing").isEqualTo(before);
  }

  @Test
  void aModuleRegionMayCarryAnyTag() throws Exception {
    // flags bit 0 set: the tag is the module's own (FORMAT.md section 7), not a core tag. Module 3 is Tags,
    // inactive here: the entry is a leftover, which the engine does not refuse at open.
    long[] at = new long[1];
    PowerLossDevice dev = volumeListing(new RegionDirectory.Entry(ABCD, 1 | 3 << 8, 3000, 4), at);
    try (VirtualDisk d = VirtualDisk.open(dev, OpenOptions.readOnlyOptions())) {
      assertThat(d.readFile("/hello")).containsExactly(1, 2, 3);
    }
  }

  @Test
  void theInvariantsTheVerifierReports_includeAnUnknownCoreTag() {
    RegionDirectory rd = new RegionDirectory(List.of(
        new RegionDirectory.Entry(RegionDirectory.TAG_BITMAP, 0, 10, 1),
        new RegionDirectory.Entry(RegionDirectory.TAG_WAL, 0, 11, 64),
        new RegionDirectory.Entry(RegionDirectory.TAG_CHECKPOINT, 0, 75, 2),
        new RegionDirectory.Entry(RegionDirectory.TAG_INODES, 0, 77, 64),
        new RegionDirectory.Entry(ABCD, 0, 141, 4),
        new RegionDirectory.Entry(ABCD, 1 | 3 << 8, 145, 4)));
    assertThat(rd.problems(1000, 10)).containsExactly(
        "region ABCD (tag 0x" + String.format("%08x", ABCD) + ") at 141+4 is a core region (flags bit 0 clear) "
            + "with a tag format 1.0 does not define");
  }
}
