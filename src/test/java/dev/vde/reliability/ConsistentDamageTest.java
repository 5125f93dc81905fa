package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.Bytes;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Internally consistent (resealed) field-level damage that must be reported, never crash the engine. */
class ConsistentDamageTest {

  /**
   * The mid-migration seed (512-byte blocks) with its migration checkpoint records claiming a target inode size
   * of 4096 bytes (a valid layout by itself, but no inode of that size fits in a 512-byte block), payload checksum
   * and trailer resealed. Opening must report the damage, not divide by zero.
   */
  @Test
  void open_withCheckpointWhoseTargetInodeDoesNotFitABlock_reportsDamage() throws IOException {
    byte[] image = FuzzCorpus.midMigration().image();
    Reseal.editCheckpoints(image, b -> Bytes.put32(b, 52, 4096));
    for (boolean readOnly : new boolean[] {true, false}) {
      ImageProbe.Outcome o = ImageProbe.probe(image, readOnly);
      assertThat(o.failures).as("readOnly=" + readOnly + ": " + o).isEmpty();
    }
  }

  /**
   * The mid-migration seed with a field of an unknown module (id 40) in both layouts of its checkpoint records, 4
   * bytes in the original layout and 8 in the target one. Each layout is valid on its own (an unknown module's
   * field size is free), but they disagree.
   */
  @Test
  void open_withCheckpointWhoseLayoutsDisagreeOnAFieldSize_reportsDamage() throws IOException {
    byte[] image = FuzzCorpus.midMigration().image();
    Reseal.editCheckpoints(image, b -> {
      // original layout at 128: one field, module 40 at 304, 4 bytes (inside the 320-byte original inode)
      Bytes.put16(b, 128 + 2, 1);
      Bytes.put16(b, 136, 40);
      Bytes.put16(b, 138, 304);
      Bytes.put16(b, 140, 4);
      // target layout at 288: Tags is field 0 (304..440); add module 40 at 440, 8 bytes (inode size 448)
      int count = Bytes.u16(b, 288 + 2);
      int f = 288 + 8 + 8 * count;
      Bytes.put16(b, 288 + 2, count + 1);
      Bytes.put16(b, f, 40);
      Bytes.put16(b, f + 2, 440);
      Bytes.put16(b, f + 4, 8);
    });
    for (boolean readOnly : new boolean[] {true, false}) {
      ImageProbe.Outcome o = ImageProbe.probe(image, readOnly);
      assertThat(o.failures).as("readOnly=" + readOnly + ": " + o).isEmpty();
    }
  }

  private static Map<String, byte[]> populate(VirtualDisk d) throws IOException {
    Map<String, byte[]> files = new LinkedHashMap<>();
    for (int i = 0; i < 6; i++) {
      byte[] data = SeededBytes.bytes(100 + i, 3000 + 1000 * i);
      d.writeFile("/f" + i, data);
      files.put("/f" + i, data);
    }
    return files;
  }
  /** A closed volume of {@code size} bytes holding the files of {@link #populate}: its image and those files. */
  private record Populated(byte[] image, Map<String, byte[]> files) {}

  private static Populated populated(String name, long size, int blockSize) throws IOException {
    PowerLossDevice dev = new PowerLossDevice(name);
    Map<String, byte[]> files;
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(size).blockSize(blockSize))) {
      files = populate(d);
    }
    return new Populated(dev.snapshot(), files);
  }


  private static void assertFilesIntact(byte[] image, Map<String, byte[]> files, String ctx) throws IOException {
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(image), OpenOptions.readOnlyOptions())) {
      for (Map.Entry<String, byte[]> e : files.entrySet()) {
        byte[] got;
        try {
          got = d.readFile(e.getKey());
        } catch (IOException ex) {
          throw new AssertionError(ctx + ": " + e.getKey() + " is no longer readable: " + ex, ex);
        }
        assertThat(got).as(ctx + ": " + e.getKey()).isEqualTo(e.getValue());
      }
    } catch (AssertionError ae) {
      throw ae;
    } catch (IOException ex) {
      throw new AssertionError(ctx + ": the volume no longer opens: " + ex, ex);
    }
  }

  /**
   * A 4096-byte-block volume whose migration-checkpoint region is one block long instead of two (the WAL in front
   * of it one block longer, in the superblocks and the region directory alike, so that every block is still
   * accounted for), everything resealed. Open used to accept it, and starting an inode migration then wrote a
   * checkpoint record to "the second MCHK block", the first block of the inode table: the root directory and the
   * first files were gone. Open now refuses the region, in both modes, and the image is left as it was.
   */
  @Test
  void aCheckpointRegionOfOneBlockIsRefusedAtOpen() throws IOException {
    byte[] image = populated("one-block MCHK", 8L << 20, 4096).image();
    RegionDirectory rd = Reseal.regions(image);
    RegionDirectory.Entry wal = rd.find(RegionDirectory.TAG_WAL);
    RegionDirectory.Entry chk = rd.find(RegionDirectory.TAG_CHECKPOINT);
    assertThat(chk.start()).isEqualTo(wal.end());
    rd = rd.replacing(RegionDirectory.TAG_WAL, new RegionDirectory.Entry(wal.tag(), 0, wal.start(), wal.blocks() + 1))
        .replacing(RegionDirectory.TAG_CHECKPOINT, new RegionDirectory.Entry(chk.tag(), 0, chk.start() + 1, 1));
    Reseal.writeRegions(image, rd);
    long walBlocks = wal.blocks() + 1;
    Reseal.editSuperblocks(image, b -> Bytes.put64(b, 152, walBlocks));
    Reseal.assertRefusedAtOpen(image, "region MCHK has 1 blocks; it must have 2");
  }

  /**
   * A volume whose bitmap (resealed, with a matching free count in the superblocks) marks the blocks of the
   * inode-table region free. Writing one new file allocates from the first free run, the inode table, and the
   * file's data lands on the table: every existing file is lost. The bitmap contradicts the region directory,
   * which a writable open could see in one pass over the regions.
   */
  @Test
  void write_onAVolumeWhoseBitmapMarksTheInodeTableFree_doesNotOverwriteTheInodeTable() throws IOException {
    Populated p = populated("bitmap frees the inode table", 4L << 20, 512);
    byte[] image = p.image();
    Map<String, byte[]> files = p.files();
    RegionDirectory rd = Reseal.regions(image);
    RegionDirectory.Entry bmr = rd.find(RegionDirectory.TAG_BITMAP);
    RegionDirectory.Entry ino = rd.find(RegionDirectory.TAG_INODES);
    assertThat(Reseal.blockSize(image) * 8L - 128).isGreaterThan(ino.end());
    Reseal.editBlock(image, bmr.start(), b -> {
      for (long blk = ino.start(); blk < ino.end(); blk++) {
        b[(int) (blk / 8)] &= (byte) ~(1 << (blk % 8));
      }
    });
    long freed = ino.blocks();
    Superblock sb = ImageEdit.newestSuperblock(image);
    Reseal.editSuperblocks(image, b -> Bytes.put64(b, 120, sb.freeBlocks() + freed));
    assertFilesIntact(image, files, "before the write");

    PowerLossDevice dev2 = PowerLossDevice.fromImage(image);
    try (VirtualDisk d = VirtualDisk.open(dev2, OpenOptions.defaults())) {
      d.writeFile("/new", SeededBytes.bytes(7, 5 * 496));
    } catch (IOException expected) {
      // refusing is fine; destroying the inode table is not
    }
    assertFilesIntact(dev2.snapshot(), files, "after writing /new");
  }
}
