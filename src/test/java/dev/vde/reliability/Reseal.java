package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/** Field-level edits of a closed image that reseal what they touch, so the damage is internally consistent. */
final class Reseal {
  private Reseal() {}

  static int blockSize(byte[] image) {
    return Bytes.i32(image, 8);
  }

  static RegionDirectory regions(byte[] image) throws IOException {
    Superblock sb = ImageEdit.newestSuperblock(image);
    List<byte[]> rd = new ArrayList<>();
    for (int i = 0; i < sb.regionDirBlocks(); i++) {
      rd.add(ImageEdit.block(image, sb.regionDirStart() + i, sb.blockSize()));
    }
    return RegionDirectory.read(rd, sb.regionDirStart(), "edit");
  }

  /** Applies {@code edit} to the payload of block {@code blockNo} and reseals it with its tag and generation. */
  static void editBlock(byte[] image, long blockNo, Consumer<byte[]> edit) {
    int bs = blockSize(image);
    byte[] b = ImageEdit.block(image, blockNo, bs);
    BlockType t = BlockType.fromTag(BlockCodec.storedTag(b));
    int gen = BlockCodec.storedGeneration(b);
    edit.accept(b);
    BlockCodec.seal(b, t, gen);
    System.arraycopy(b, 0, image, (int) (blockNo * bs), bs);
  }

  /** Edits both superblock copies (each keeps its sequence and trailer generation). */
  static void editSuperblocks(byte[] image, Consumer<byte[]> edit) {
    editBlock(image, 0, edit);
    editBlock(image, 1, edit);
  }

  /** Edits every non-empty MCHK record and fixes its payload checksum. */
  static void editCheckpoints(byte[] image, Consumer<byte[]> edit) throws IOException {
    RegionDirectory.Entry chk = regions(image).find(RegionDirectory.TAG_CHECKPOINT);
    int bs = blockSize(image);
    for (long b = chk.start(); b < chk.start() + 2; b++) {
      if (Bytes.isZero(ImageEdit.block(image, b, bs), 0, bs)) {
        continue;
      }
      editBlock(image, b, x -> {
        edit.accept(x);
        Bytes.put64(x, MigrationCheckpoint.PAYLOAD_BYTES, BlockCodec.hash(x, 0, MigrationCheckpoint.PAYLOAD_BYTES));
      });
    }
  }

  /** Rewrites the region directory (all its blocks) with {@code rd}. */
  static void writeRegions(byte[] image, RegionDirectory rd) throws IOException {
    Superblock sb = ImageEdit.newestSuperblock(image);
    List<byte[]> blocks = rd.write(sb.blockSize(), sb.regionDirBlocks());
    for (int i = 0; i < blocks.size(); i++) {
      System.arraycopy(blocks.get(i), 0, image, (int) ((sb.regionDirStart() + i) * sb.blockSize()), sb.blockSize());
    }
  }

  /**
   * Asserts that {@code image} is refused at a writable and at a read-only open with a {@link VdeCorruptedException}
   * containing {@code message}, and that neither open changed a byte of it.
   */
  static void assertRefusedAtOpen(byte[] image, String message) {
    for (OpenOptions o : List.of(OpenOptions.defaults(), OpenOptions.readOnlyOptions())) {
      // A refused open closes its device: each try gets its own.
      PowerLossDevice dev = PowerLossDevice.fromImage(image);
      assertThatThrownBy(() -> VirtualDisk.open(dev, o).close()).isInstanceOf(VdeCorruptedException.class)
          .hasMessageContaining(message);
      assertThat(dev.snapshot()).as("the image after a refused open").isEqualTo(image);
    }
  }
}
