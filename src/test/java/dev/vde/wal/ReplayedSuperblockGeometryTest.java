package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.vde.VdeException;
import dev.vde.VdeFormatTooNewException;
import dev.vde.alloc.AllocationBitmap;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A committed WAL transaction whose superblock image describes another volume (one block more than the host file
 * holds, or 2^40 blocks) used to be replayed without a check: SuperblockSlots.load refuses such a superblock in
 * place ("truncated"), but the one recovery installed was never held to that. A writable open installed it in both
 * slots, after which the volume no longer opened; a read-only open of the larger one read millions of bitmap
 * blocks past the end of the file and ran out of memory. No engine changes the geometry through the WAL, so such
 * a transaction is now treated as not committed.
 */
class ReplayedSuperblockGeometryTest {
  private static final int BS = 512;
  private static final int BS4K = 4096;

  @Test
  void aWritableOpen_mustNotInstallASuperblockThatTheNextOpenRefuses() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("geometry");
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(BS));
    byte[] content = SeededBytes.bytes(1, 3000);
    d.writeFile("/a", content);
    d.close();
    byte[] image = dev.durableSnapshot();
    Superblock sb = current(image);

    byte[] sbImage = sb.write();
    Bytes.put64(sbImage, 16, sb.totalBlocks() + 1); // totalBlocks
    BlockCodec.seal(sbImage, BlockType.SUPERBLOCK, (int) sb.sequence());
    byte[] enc = WalCodec.encode(BS, sb.checkpointTxId() + 1, sb.walSalt(), List.of(new BlockImage(0, sbImage)),
        List.of());
    System.arraycopy(enc, 0, image, (int) (sb.walStart() * BS), enc.length);

    // Before: the volume opens and its file reads.
    try (VirtualDisk r = VirtualDisk.open(PowerLossDevice.fromImage(image), OpenOptions.readOnlyOptions())) {
      assertThat(r.readFile("/a")).isEqualTo(content);
    }
    // A writable open, which reads the file and closes.
    PowerLossDevice rw = PowerLossDevice.fromImage(image);
    try (VirtualDisk w = VirtualDisk.open(rw, OpenOptions.defaults())) {
      assertThat(w.readFile("/a")).isEqualTo(content);
    } catch (VdeException refusedIsFine) {
      // refusing the replayed superblock would be fine too
    }
    // After: the volume must still open.
    try (VirtualDisk r = VirtualDisk.open(PowerLossDevice.fromImage(rw.durableSnapshot()),
        OpenOptions.readOnlyOptions())) {
      assertThat(r.readFile("/a")).isEqualTo(content);
    }
  }

  /**
   * The same, taken further: a superblock image naming a 2^40-block volume, and a region-directory image placing a
   * bitmap of that size past the end of the 4 MiB file. The open must neither read past the end nor install it.
   */
  @Test
  void aReplayedSuperblockLongerThanTheFileIsNotInstalled() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("geometry");
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(BS4K));
    byte[] content = SeededBytes.bytes(1, 3000);
    d.writeFile("/a", content);
    RegionDirectory rd = d.volume().regions();
    d.close();
    byte[] image = dev.durableSnapshot();
    Superblock sb = current(image);

    long total = 1L << 40;
    byte[] sbImage = sb.write();
    Bytes.put64(sbImage, 16, total);
    BlockCodec.seal(sbImage, BlockType.SUPERBLOCK, (int) sb.sequence());
    List<RegionDirectory.Entry> es = new ArrayList<>();
    for (RegionDirectory.Entry e : rd.entries()) {
      es.add(e.tag() != RegionDirectory.TAG_BITMAP ? e
          : new RegionDirectory.Entry(e.tag(), e.flags(), 1L << 39, AllocationBitmap.blocksFor(total, BS4K)));
    }
    List<BlockImage> images = new ArrayList<>();
    images.add(new BlockImage(0, sbImage));
    List<byte[]> rdBlocks = new RegionDirectory(es).write(BS4K, sb.regionDirBlocks());
    for (int i = 0; i < rdBlocks.size(); i++) {
      images.add(new BlockImage(sb.regionDirStart() + i, rdBlocks.get(i)));
    }
    byte[] enc = WalCodec.encode(BS4K, sb.checkpointTxId() + 1, sb.walSalt(), images, List.of());
    System.arraycopy(enc, 0, image, (int) (sb.walStart() * BS4K), enc.length);

    assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
      try (VirtualDisk r = VirtualDisk.open(PowerLossDevice.fromImage(image), OpenOptions.readOnlyOptions())) {
        assertThat(r.volume().superblock().totalBlocks()).isEqualTo(sb.totalBlocks());
        assertThat(r.readFile("/a")).isEqualTo(content);
      }
    });
  }

  /**
   * FORMAT.md sections 5 and 15: the version of a replayed superblock image is judged after recovery (step 4 of
   * section 5), not by the replay rule. A committed transaction that raised the format version must refuse the
   * open, writable or not, and leave the image as it was: were it taken for an uncommitted one instead, a writable
   * open would checkpoint and discard it for good.
   */
  @Test
  void aReplayedSuperblockOfANewerFormatRefusesTheOpenAndIsKept() throws IOException {
    PowerLossDevice made = new PowerLossDevice("version");
    VirtualDisk d = VirtualDisk.create(made, TestVolumes.options(BS));
    d.writeFile("/a", SeededBytes.bytes(1, 3000));
    d.close();
    byte[] image = made.durableSnapshot();
    Superblock sb = current(image);
    byte[] sbImage = sb.write();
    Bytes.put16(sbImage, 4, Superblock.FORMAT_MAJOR + 1);
    BlockCodec.seal(sbImage, BlockType.SUPERBLOCK, (int) sb.sequence());
    byte[] enc = WalCodec.encode(BS, sb.checkpointTxId() + 1, sb.walSalt(), List.of(new BlockImage(0, sbImage)),
        List.of());
    System.arraycopy(enc, 0, image, (int) (sb.walStart() * BS), enc.length);
    for (OpenOptions o : List.of(OpenOptions.defaults(), OpenOptions.readOnlyOptions())) {
      PowerLossDevice p = PowerLossDevice.fromImage(image);
      assertThatThrownBy(() -> VirtualDisk.open(p, o).close()).isInstanceOf(VdeFormatTooNewException.class)
          .hasMessageContaining("format version 2.0");
      assertThat(p.snapshot()).as("the image after the refused open").isEqualTo(image);
    }
  }

  private static Superblock current(byte[] img) throws IOException {
    return SuperblockSlots.load(PowerLossDevice.fromImage(img)).superblock();
  }
}
