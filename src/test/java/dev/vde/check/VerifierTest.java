package dev.vde.check;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.DirectoryBlockCodec;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.fs.Volume;
import dev.vde.inode.Extent;
import dev.vde.inode.Inode;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The verifier on real volumes: clean ones of every shape must give a clean report, and each kind of damage, made
 * directly in the closed host file, must be reported with the block and structure concerned. Damage meant to test
 * a logical check is made through re-sealed blocks, so that no checksum problem hides or explains it.
 */
class VerifierTest {
  private static final int BS = 4096;
  private static final long SIZE = 8L * 1024 * 1024;
  /** Paths whose inode and extents every damage test may need. */
  private static final List<String> KNOWN = List.of("/", "/a", "/a/b", "/a/d", "/one", "/two", "/a/multi",
      "/a/d/exact");

  @TempDir
  Path dir;

  // ------------------------------------------------------------------------------------------------ clean volumes

  @ParameterizedTest(name = "block size {0}")
  @ValueSource(ints = {512, 1024, 4096})
  void cleanVolumeOfEveryShapeIsClean(int blockSize) throws IOException {
    Path p = dir.resolve("clean.vde");
    int payload = blockSize - BlockCodec.TRAILER_SIZE;
    List<String> phases = new ArrayList<>();
    long[] lastData = {-1, -2};
    Progress recorder = (phase, done, total, unit) -> {
      if (phases.isEmpty() || !phases.get(phases.size() - 1).equals(phase)) {
        phases.add(phase);
      }
      if (phase.equals("data")) {
        lastData[0] = done;
        lastData[1] = total;
      }
    };
    try (VirtualDisk d = VirtualDisk.create(p, CreateOptions.ofSize(SIZE).blockSize(blockSize))) {
      populate(d, payload);
      fragment(d, payload);
      d.rename("/a/d/exact", "/e/moved");
      d.truncate("/two", 3);
      d.write("/a/multi", 2L * payload - 5, SeededBytes.bytes(6, 10), 0, 10);
      VerifyReport r = d.verify(recorder);
      TestVolumes.assertClean(r, "on the open volume");
      // 28 files and 7 directories (root, /a, /a/b, /a/b/c, /a/d, /e, /frag).
      assertThat(r.filesChecked()).isEqualTo(28);
      assertThat(r.inodesChecked()).isEqualTo(35);
      assertThat(r.blocksChecked()).isGreaterThan(d.info().totalBlocks() / 2);
    }
    assertThat(phases).containsSubsequence("superblock", "regions", "bitmap", "inodes", "data", "tree");
    assertThat(lastData[0]).as("data phase ends at its total").isEqualTo(lastData[1]);
    TestVolumes.assertClean(verifyImage(p, false), "after close and reopen");
    TestVolumes.assertClean(verifyImage(p, true), "after a read-only reopen");
  }

  @Test
  void freshVolumeIsClean() throws IOException {
    Path p = dir.resolve("fresh.vde");
    try (VirtualDisk d = VirtualDisk.create(p, CreateOptions.ofSize(SIZE).blockSize(BS))) {
      VerifyReport r = d.verify(Progress.NONE);
      TestVolumes.assertClean(r, "on a fresh volume");
      assertThat(r.inodesChecked()).isEqualTo(1);
    }
    TestVolumes.assertClean(verifyImage(p, true), "after reopening a fresh volume");
  }

  @Test
  void volumeWithModulesIsClean() throws IOException {
    // Module fields make the inode larger (with padding after them) and module regions join the metadata.
    Path p = dir.resolve("modules.vde");
    CreateOptions o = CreateOptions.ofSize(SIZE).blockSize(BS).module(Module.TAGS).module(Module.COMPLIANCE);
    try (VirtualDisk d = VirtualDisk.create(p, o)) {
      assertThat(d.info().regions()).anyMatch(RegionDirectory.Entry::isModuleRegion);
      populate(d, BS - BlockCodec.TRAILER_SIZE);
      TestVolumes.assertClean(d.verify(Progress.NONE), "with modules, open");
    }
    TestVolumes.assertClean(verifyImage(p, true), "with modules, reopened");
  }

  // ------------------------------------------------------------------------------------------------ damage

  @Test
  void aDamagedBitmapBlock_leavesTheFilesReadableReadOnly_andIsReportedWithoutFalseLeaks() throws IOException {
    Path p = dir.resolve("bitmap.vde");
    long bmap;
    try (VirtualDisk d = VirtualDisk.create(p, CreateOptions.ofSize(SIZE).blockSize(BS))) {
      d.writeFile("/keep", SeededBytes.bytes(3, 50_000));
      bmap = d.volume().regions().find(RegionDirectory.TAG_BITMAP).start();
    }
    try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
      flip(raf, bmap);
    }
    // Writing would allocate from a guess: refused.
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> VirtualDisk.open(p))
        .isInstanceOf(dev.vde.VdeCorruptedException.class).hasMessageContaining("allocation bitmap");
    try (VirtualDisk d = VirtualDisk.open(p, OpenOptions.readOnlyOptions())) {
      assertThat(d.readFile("/keep")).isEqualTo(SeededBytes.bytes(3, 50_000));
      assertThat(d.info().warnings()).anySatisfy(w -> assertThat(w).contains("taken as allocated"));
      VerifyReport r = d.verify(Progress.NONE);
      assertReported(r, bmap, "allocation bitmap");
      assertThat(r.problems()).as("no leaks invented from the stand-in")
          .noneMatch(pr -> pr.message().contains("leaked") || pr.message().contains("free block count"));
    }
  }

  @Test
  void aPendingMigrationWithoutAReadableCheckpointIsReported() throws IOException {
    Path p = dir.resolve("pending.vde");
    long chk = withPendingMigration(p);
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
      f.seek(chk * BS);
      f.write(new byte[2 * BS]);
    }
    assertReported(verifyImage(p, true), chk, "migration checkpoint", "no valid checkpoint", "rollback");
  }

  @Test
  void nonZeroReservedBytesOfAPendingMigrationRecordAreReported() throws IOException {
    Path p = dir.resolve("pending-reserved.vde");
    long chk = withPendingMigration(p);
    long current;
    try (HostFile f = new HostFile(p, BS)) {
      byte[] a = f.read(chk);
      byte[] b = f.read(chk + 1);
      current = dev.vde.format.MigrationCheckpoint.read(a, chk, "test").sequence()
          >= dev.vde.format.MigrationCheckpoint.read(b, chk + 1, "test").sequence() ? chk : chk + 1;
      byte[] rec = f.read(current);
      int generation = (int) dev.vde.format.MigrationCheckpoint.read(rec, current, "test").sequence();
      rec[125] = 1;
      rec[600] = 7;
      // The payload checksum covers bytes 0..447: redo it for the byte at 125, so only the reserved-byte rule
      // can find it; the byte at 600 is past it anyway.
      dev.vde.format.Bytes.put64(rec, dev.vde.format.MigrationCheckpoint.PAYLOAD_BYTES,
          BlockCodec.hash(rec, 0, dev.vde.format.MigrationCheckpoint.PAYLOAD_BYTES));
      f.reseal(current, rec, BlockType.MIGRATION_CHECKPOINT, generation);
    }
    VerifyReport r = verifyImage(p, true);
    assertReported(r, current, "migration checkpoint", "non-zero reserved bytes 124..127");
    assertReported(r, current, "migration checkpoint", "non-zero bytes 456.." + (BS - 17) + " after its checksum");
  }

  /**
   * The new table of a pending migration holds, below the watermark, the only copy the migration will use of the
   * inodes it copied: resume copies on from the watermark, swaps and frees the old table, and never reads those
   * blocks again before they become the table in use. Damage there was checked by nothing, so verify called the
   * volume clean although finishing the migration would lose the inodes of a damaged block.
   */
  @Test
  void damagedNewTableBlocksBelowAPendingMigrationsWatermarkAreReported() throws IOException {
    Path p = dir.resolve("pending-newtable.vde");
    withPendingMigration(p);
    long start;
    int perBlock;
    long watermark;
    try (VirtualDisk d = VirtualDisk.open(p, OpenOptions.readOnlyOptions())) {
      start = d.volume().regions().find(RegionDirectory.TAG_INODES_NEW).start();
      perBlock = d.volume().migrationTarget().perBlock();
      watermark = d.volume().migrationTarget().watermark();
    }
    assertThat(watermark / perBlock).as("whole new-table blocks below the watermark").isGreaterThan(3);
    try (HostFile f = new HostFile(p, BS)) {
      f.flipByte(start + 1, 10);
      f.reseal(start + 2, f.read(start + 2), BlockType.INODE_TABLE, 7);
    }
    VerifyReport r = verifyImage(p, true);
    assertReported(r, start + 1, "inode table", "checksum", "new inode table");
    assertReported(r, start + 2, "inode table", "trailer generation is 7, expected 2");
    assertThat(r.problems()).hasSize(2);
  }

  // A record copied into the other of its two blocks was taken as the current one: the slot rule of FORMAT.md
  // section 16 was checked by nothing.
  @Test
  void aPendingMigrationRecordInTheOtherBlockIsReportedAndNotUsed() throws IOException {
    Path p = dir.resolve("pending-slot.vde");
    long chk = withPendingMigration(p);
    long current;
    long other;
    try (HostFile f = new HostFile(p, BS)) {
      long a = dev.vde.format.MigrationCheckpoint.read(f.read(chk), chk, "test").sequence();
      long b = dev.vde.format.MigrationCheckpoint.read(f.read(chk + 1), chk + 1, "test").sequence();
      current = a >= b ? chk : chk + 1;
      other = current == chk ? chk + 1 : chk;
      f.write(other, f.read(current));
      f.write(current, new byte[BS]);
    }
    VerifyReport r = verifyImage(p, true);
    assertReported(r, other, "migration checkpoint", "slot " + (other - chk), "selects slot " + (current - chk),
        "block " + current);
    assertReported(r, chk, "migration checkpoint", "no valid checkpoint");
    try (VirtualDisk d = VirtualDisk.open(p)) {
      assertThat(dev.vde.module.InodeMigration.isPending(d)).isTrue();
      assertThat(dev.vde.module.InodeMigration.status(d)).as("the misplaced record is not the migration's").isNull();
      assertThatThrownBy(() -> dev.vde.module.InodeMigration.resume(d, dev.vde.module.MigrationOptions.defaults()))
          .hasMessageContaining("unreadable").hasMessageContaining("rollback");
    }
  }

  @Test
  void flippedByteInDataBlocksIsReportedPerBlock() throws IOException {
    Built b = build("data.vde");
    long multi = b.firstBlock("/a/multi") + 2;
    long one = b.firstBlock("/one");
    try (HostFile f = new HostFile(b)) {
      f.flipByte(multi, 1000);
      f.flipByte(one, 3);
    }
    VerifyReport r = verifyImage(b.path, true);
    assertReported(r, multi, "file data", "checksum mismatch", "inode " + b.inode("/a/multi") + " logical block 2");
    assertReported(r, one, "file data", "checksum mismatch", "inode " + b.inode("/one") + " logical block 0");
    assertThat(r.problems()).hasSize(2);
  }

  /**
   * Data runs are checked on several threads; the findings must still come out in inode and block order, with a
   * damaged directory between two files reported between their findings, whichever run finishes first.
   */
  @Test
  void damageInManyDataRunsIsReportedInInodeAndBlockOrder() throws IOException {
    Path p = dir.resolve("runs.vde");
    int payload = BS - BlockCodec.TRAILER_SIZE;
    Map<String, Long> inodes = new LinkedHashMap<>();
    Map<String, List<Extent>> extents = new LinkedHashMap<>();
    try (VirtualDisk d = VirtualDisk.create(p, CreateOptions.ofSize(32L << 20).blockSize(BS))) {
      d.writeFile("/f1", SeededBytes.bytes(11, 1300 * payload));
      d.mkdir("/dir");
      d.writeFile("/dir/x", SeededBytes.bytes(12, 10));
      d.writeFile("/f2", SeededBytes.bytes(13, 900 * payload + 5));
      Volume v = d.volume();
      for (String k : List.of("/f1", "/dir", "/f2")) {
        long n = d.stat(k).inode();
        inodes.put(k, n);
        extents.put(k, v.withStableState(() -> v.readInode(n)).extents());
      }
    }
    VerifyReport before = verifyImage(p, true);
    TestVolumes.assertClean(before, "before the damage");
    assertThat(inodes.get("/f1")).isLessThan(inodes.get("/dir"));
    assertThat(inodes.get("/dir")).isLessThan(inodes.get("/f2"));
    // Logical blocks in five different runs of /f1 (256 blocks each), then the directory, then /f2.
    List<Long> damaged = new ArrayList<>();
    for (long logical : new long[] {1290, 3, 700, 260, 1100}) {
      damaged.add(physical(extents.get("/f1"), logical));
    }
    long dirBlock = extents.get("/dir").get(0).start();
    long f2Late = physical(extents.get("/f2"), 899);
    long f2Early = physical(extents.get("/f2"), 2);
    try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
      for (long b : damaged) {
        flip(raf, b);
      }
      flip(raf, dirBlock);
      flip(raf, f2Late);
      flip(raf, f2Early);
    }
    List<Long> expected = new ArrayList<>(damaged);
    expected.sort(null);
    expected.add(dirBlock);
    expected.add(f2Early);
    expected.add(f2Late);
    VerifyReport r = verifyImage(p, true);
    List<Long> content = r.problems().stream()
        .filter(q -> q.structure().equals("file data") || q.structure().equals("directory"))
        .map(Problem::blockNo).filter(expected::contains).distinct().toList();
    assertThat(content).as("content findings in order; all findings:%n  %s", TestVolumes.describe(r.problems()))
        .containsExactlyElementsOf(expected);
    assertThat(r.blocksChecked()).as("every block counted once, as on the clean volume")
        .isEqualTo(before.blocksChecked());
  }

  private static long physical(List<Extent> xs, long logical) {
    for (Extent e : xs) {
      if (logical >= e.logical() && logical < e.logical() + e.count()) {
        return e.start() + (logical - e.logical());
      }
    }
    throw new AssertionError("logical block " + logical + " is not mapped by " + xs);
  }

  private static void flip(RandomAccessFile raf, long blockNo) throws IOException {
    raf.seek(blockNo * BS + 100);
    int b = raf.read();
    raf.seek(blockNo * BS + 100);
    raf.write(b ^ 0x40);
  }

  @Test
  void clearedBitmapBitOfUsedBlockIsReferencedButFree() throws IOException {
    Built b = build("bitclear.vde");
    long block = b.firstBlock("/two");
    try (HostFile f = new HostFile(b)) {
      f.setBitmapBit(block, false);
    }
    VerifyReport r = verifyImage(b.path, false);
    assertReported(r, block, "allocation bitmap", "referenced by inode " + b.inode("/two") + " extent 0",
        "free in the allocation bitmap");
    // The superblock's free count now disagrees with the bitmap by that one block.
    assertReported(r, -1, "superblock", "free block count");
  }

  @Test
  void setBitmapBitOfFreeBlockIsLeaked() throws IOException {
    Built b = build("leak.vde");
    long block = b.totalBlocks - 3;
    try (HostFile f = new HostFile(b)) {
      f.setBitmapBit(block, true);
    }
    VerifyReport r = verifyImage(b.path, true);
    assertReported(r, block, "allocation bitmap", "block " + Text.num(block) + " is allocated", "leaked");
    assertReported(r, -1, "superblock", "free block count");
    assertThat(r.problems()).hasSize(2);
  }

  @Test
  void damagedSuperblockCopyIsReportedAndVolumeStillOpens() throws IOException {
    Built b = build("sb.vde");
    try (HostFile f = new HostFile(b)) {
      f.flipByte(1, 100);
    }
    // Read-only: nothing is repaired, so the damaged copy is still there for the verifier to see.
    try (VirtualDisk d = VirtualDisk.open(b.path, OpenOptions.readOnlyOptions())) {
      VerifyReport r = d.verify(Progress.NONE);
      assertReported(r, 1, "superblock", "checksum mismatch", "copy 1 is unusable");
      assertThat(r.problems()).hasSize(1);
      assertThat(d.readFile("/a/multi")).hasSize(5 * (BS - 16) + 17);
    }
    // A writable open rewrites the damaged slot at its first checkpoint, after which the volume is clean.
    try (VirtualDisk d = VirtualDisk.open(b.path)) {
      assertThat(d.info().warnings()).anyMatch(w -> w.contains("block 1") && w.contains("repaired"));
      TestVolumes.assertClean(d.verify(Progress.NONE), "after the writable open repaired the copy");
    }
  }

  /**
   * A checkpoint cut between its two superblock writes leaves the older copy naming the previous WAL epoch: were the
   * newest copy lost, open would not find the transactions since. Open warns and a writable open repairs it; a
   * read-only check reported the volume clean.
   */
  @Test
  void aSuperblockCopyFromAnEarlierCheckpointIsReported_andGoneAfterAWritableOpen() throws IOException {
    Built b = build("sbold.vde");
    byte[][] before = new byte[2][];
    try (HostFile f = new HostFile(b)) {
      before[0] = f.read(0);
      before[1] = f.read(1);
    }
    try (VirtualDisk d = VirtualDisk.open(b.path)) {
      d.writeFile("/later", SeededBytes.bytes(9, 3000));
    }
    int older;
    Superblock old;
    Superblock newest;
    try (HostFile f = new HostFile(b)) {
      newest = f.newestSuperblock();
      older = 1 - newest.slot();
      // Put back that slot's copy from before the last checkpoint, as a checkpoint cut after its first write does.
      f.write(older, before[older]);
      old = Superblock.read(before[older], older, "test");
    }
    assertThat(old.checkpointTxId()).isNotEqualTo(newest.checkpointTxId());
    try (VirtualDisk d = VirtualDisk.open(b.path, OpenOptions.readOnlyOptions())) {
      assertThat(d.readFile("/later")).isEqualTo(SeededBytes.bytes(9, 3000));
      VerifyReport r = d.verify(Progress.NONE);
      assertReported(r, older, "superblock", "copy " + older + " is from an earlier checkpoint",
          "sequence " + old.sequence() + ", the newest is " + newest.sequence(), "would not find the current WAL");
      assertThat(r.problems()).hasSize(1);
    }
    try (VirtualDisk d = VirtualDisk.open(b.path)) {
      assertThat(d.info().warnings()).anyMatch(w -> w.contains("earlier checkpoint") && w.contains("repaired"));
      TestVolumes.assertClean(d.verify(Progress.NONE), "after the writable open rewrote the older copy");
    }
  }

  /**
   * Both copies of one checkpoint are the same superblock but for the sequence (FORMAT.md section 5); the volume
   * depends on the older one as soon as the newest is lost. One that differs in another field under a valid checksum
   * (here a lower inode-table watermark, which would make inodes past it free) was not compared with anything.
   */
  @Test
  void aSuperblockCopyThatDiffersFromItsTwinOfTheSameCheckpointIsReported() throws IOException {
    Built b = build("twins.vde");
    int older;
    try (HostFile f = new HostFile(b)) {
      long s0 = Superblock.read(f.read(0), 0, "test").sequence();
      long s1 = Superblock.read(f.read(1), 1, "test").sequence();
      older = s0 < s1 ? 0 : 1;
      byte[] sb = f.read(older);
      assertThat(Superblock.read(sb, older, "test").inodeTableInitBlocks()).isGreaterThan(1);
      put64(sb, 176, 1);
      f.reseal(older, sb, BlockType.SUPERBLOCK, BlockCodec.storedGeneration(sb));
    }
    VerifyReport r = verifyImage(b.path, true);
    assertReported(r, older, "superblock", "copy " + older, "differs from copy " + (1 - older),
        "inodeTableInitBlocks (byte 176)");
    assertThat(r.problems()).hasSize(1);
  }

  @Test
  void missingSuperblockCopyIsReported() throws IOException {
    Built b = build("sbzero.vde");
    try (HostFile f = new HostFile(b)) {
      f.write(0, new byte[BS]);
    }
    VerifyReport r = verifyImage(b.path, true);
    assertReported(r, 0, "superblock", "copy 0 is missing");
  }

  @Test
  void nonZeroInodePaddingIsReported() throws IOException {
    Built b = build("padding.vde");
    long n = b.inode("/one");
    try (HostFile f = new HostFile(b)) {
      // No modules: the inode is 320 bytes and bytes 304..319 are padding.
      f.editInode(n, (rec, off) -> rec[off + 310] = 0x5A);
    }
    VerifyReport r = verifyImage(b.path, true);
    assertReported(r, b.inodeBlock(n), "inode table", "inode " + n, "padding");
    assertThat(r.problems()).hasSize(1);
  }

  /**
   * A layout may leave a gap between module fields (FORMAT.md section 10 asks only that fields lie in the module area
   * and do not overlap); the bytes of the module area outside every field are padding, zero (section 9), wherever
   * they lie. Only those after the last field were checked, so damage in a gap passed as clean.
   */
  @Test
  void nonZeroBytesInAGapBetweenModuleFieldsAreReported() throws IOException {
    Built b = build("gap.vde");
    long n = b.inode("/one");
    try (HostFile f = new HostFile(b)) {
      for (int slot = 0; slot < 2; slot++) {
        byte[] sb = f.read(slot);
        int generation = BlockCodec.storedGeneration(sb);
        // RAID (module 5, 4 bytes, RO_COMPAT) active, its field at 308: bytes 304..307 are a gap.
        put64(sb, 72, Module.RAID.featureBit());
        put64(sb, 88, Module.RAID.bit());
        put32(sb, Superblock.LAYOUT_OFFSET, 304 | 1 << 16);
        put64(sb, Superblock.LAYOUT_OFFSET + 8, Module.RAID.id() | 308L << 16 | 4L << 32);
        f.reseal(slot, sb, BlockType.SUPERBLOCK, generation);
      }
    }
    try (VirtualDisk d = VirtualDisk.open(b.path, OpenOptions.readOnlyOptions())) {
      assertThat(d.volume().superblock().layout().fieldFor(Module.RAID).offset()).isEqualTo(308);
      TestVolumes.assertClean(d.verify(Progress.NONE), "a layout with a gap before its field");
    }
    try (HostFile f = new HostFile(b)) {
      f.editInode(n, (rec, off) -> rec[off + 305] = 0x5A);
    }
    VerifyReport r = verifyImage(b.path, true);
    assertReported(r, b.inodeBlock(n), "inode table", "inode " + n, "padding", "304..307");
    assertThat(r.problems()).hasSize(1);
  }

  @Test
  void directoryEntryPointingAtFreeInodeIsReported() throws IOException {
    Built b = build("freeentry.vde");
    long rootBlock = b.extents.get("/").get(0).start();
    long freeInode = b.inodeCount - 2;
    long one = b.inode("/one");
    try (HostFile f = new HostFile(b)) {
      f.editDirectory(rootBlock, Inode.ROOT, "one", freeInode);
    }
    VerifyReport r = verifyImage(b.path, true);
    assertReported(r, rootBlock, "directory", "entry 'one' in directory inode 1", "free inode " + freeInode);
    // The inode the entry used to name is now reachable from nowhere.
    assertReported(r, b.inodeBlock(one), "directory tree", "inode " + one, "orphan inode");
    assertThat(r.problems()).hasSize(2);
  }

  @Test
  void twoInodesSharingABlockAreReported() throws IOException {
    Built b = build("shared.vde");
    long one = b.inode("/one");
    long two = b.inode("/two");
    long shared = b.firstBlock("/one");
    long abandoned = b.firstBlock("/two");
    try (HostFile f = new HostFile(b)) {
      // Inline extent 0 is at core offset 80: u64 logical, u64 start, u32 count.
      f.editInode(two, (rec, off) -> put64(rec, off + 80 + 8, shared));
    }
    VerifyReport r = verifyImage(b.path, true);
    assertReported(r, shared, "block references", "referenced more than once", "inode " + one + " extent 0",
        "inode " + two + " extent 0");
    assertReported(r, shared, "file data", "belongs to inode " + one, "inode " + two + " maps it");
    assertReported(r, abandoned, "allocation bitmap", "leaked");
  }

  @Test
  void wrongLinkCountsAreReported() throws IOException {
    Built b = build("links.vde");
    long a = b.inode("/a");
    long one = b.inode("/one");
    try (HostFile f = new HostFile(b)) {
      f.editInode(a, (rec, off) -> put32(rec, off + 8, 9));
      f.editInode(one, (rec, off) -> put32(rec, off + 8, 2));
    }
    VerifyReport r = verifyImage(b.path, false);
    assertReported(r, b.inodeBlock(a), "inode table", "directory inode " + a + " has link count 9, expected 4");
    assertReported(r, b.inodeBlock(one), "inode table", "file inode " + one + " has link count 2, expected 1");
    assertThat(r.problems()).hasSize(2);
  }

  @Test
  void severalDamagesAtOnceAreAllReported() throws IOException {
    Built b = build("many.vde");
    long dataBlock = b.firstBlock("/a/d/exact") + 1;
    long leaked = b.totalBlocks - 1;
    long two = b.inode("/two");
    long d = b.inode("/a/d");
    long aBlock = b.extents.get("/a").get(0).start();
    long freeInode = b.inodeCount - 1;
    int olderCopy;
    try (HostFile f = new HostFile(b)) {
      // The older superblock copy: were the newest one lost, open would replay the WAL from the older checkpoint,
      // and those replayed images would cover the re-sealed damage below.
      olderCopy = 1 - f.newestSuperblock().slot();
      f.flipByte(olderCopy, 200);
      f.flipByte(dataBlock, 7);
      f.setBitmapBit(leaked, true);
      f.editInode(two, (rec, off) -> rec[off + 319] = 1);
      f.editInode(d, (rec, off) -> put32(rec, off + 8, 5));
      f.editDirectory(aBlock, b.inode("/a"), "multi", freeInode);
    }
    VerifyReport r = verifyImage(b.path, true);
    assertReported(r, dataBlock, "file data", "checksum mismatch");
    assertReported(r, leaked, "allocation bitmap", "leaked");
    assertReported(r, -1, "superblock", "free block count");
    assertReported(r, b.inodeBlock(two), "inode table", "inode " + two, "padding");
    assertReported(r, b.inodeBlock(d), "inode table", "link count 5, expected 2");
    assertReported(r, aBlock, "directory", "entry 'multi'", "free inode " + freeInode);
    assertReported(r, b.inodeBlock(b.inode("/a/multi")), "directory tree", "orphan inode");
    assertReported(r, olderCopy, "superblock", "copy " + olderCopy + " is unusable");
    assertThat(r.problems()).hasSize(8);
  }

  @Test
  void wrongSuperblockCountsAreReported() throws IOException {
    Built b = build("counts.vde");
    int newestSlot;
    try (HostFile f = new HostFile(b)) {
      Superblock newest = f.newestSuperblock();
      newestSlot = newest.slot();
      Superblock wrong = newest.withCounts(newest.inodesUsed() + 3, newest.freeBlocks() - 1,
          newest.inodeTableInitBlocks(), newest.modifiedMillis());
      f.write(newest.slot(), wrong.write());
    }
    VerifyReport r = verifyImage(b.path, true);
    assertReported(r, -1, "superblock", "inodes used is 15, but the inode table holds 12");
    assertReported(r, -1, "superblock", "free block count");
    // Only the newest copy was changed: the two copies of that checkpoint no longer agree.
    assertReported(r, 1 - newestSlot, "superblock", "differs from copy " + newestSlot, "inodesUsed");
    assertThat(r.problems()).hasSize(3);
  }

  @Test
  void directoryCycleIsReported() throws IOException {
    Built b = build("cycle.vde");
    long a = b.inode("/a");
    long ab = b.inode("/a/b");
    long abBlock = b.extents.get("/a/b").get(0).start();
    try (HostFile f = new HostFile(b)) {
      f.addDirectoryEntry(abBlock, ab, "back", a, Inode.TYPE_DIRECTORY);
    }
    VerifyReport r = verifyImage(b.path, true);
    assertReported(r, abBlock, "directory", "entry 'back' in directory inode " + ab, "links inode " + a,
        "already reachable");
    // /a/b now lists two subdirectories (c and back) but its link count still says one.
    assertReported(r, b.inodeBlock(ab), "inode table", "directory inode " + ab + " has link count 3, expected 4");
  }

  /** A volume whose file {@code /big} has more extents than fit inline, and the first block of its chain. */
  private record Chained(Path path, long inode, long firstChainBlock) {}

  private Chained withExtentChain(String name) throws IOException {
    Path p = dir.resolve(name);
    int payload = BS - BlockCodec.TRAILER_SIZE;
    try (VirtualDisk d = VirtualDisk.create(p, CreateOptions.ofSize(SIZE).blockSize(BS))) {
      populate(d, payload);
      fragment(d, payload);
      long big = d.stat("/big").inode();
      Volume v = d.volume();
      return new Chained(p, big, v.withStableState(() -> v.extentChainBlocks(v.readInode(big))).get(0));
    }
  }

  @Test
  void damagedExtentChainBlockIsReportedAndItsBlocksAreLeakedWithACaveat() throws IOException {
    Chained c = withExtentChain("chain.vde");
    Path p = c.path();
    long chainBlock = c.firstChainBlock();
    long big = c.inode();
    try (HostFile f = new HostFile(p, BS)) {
      f.flipByte(chainBlock, 40);
    }
    VerifyReport r = verifyImage(p, true);
    assertReported(r, chainBlock, "indirect extent block", "checksum mismatch", "extent chain of inode " + big);
    assertThat(r.problems()).anySatisfy(pr -> {
      assertThat(pr.structure()).isEqualTo("allocation bitmap");
      assertThat(pr.message()).contains("leaked", "some inode metadata could not be read");
    });
  }

  @Test
  void nonZeroInodeFlagsAreReported() throws IOException {
    Built b = build("flags.vde");
    long n = b.inode("/one");
    try (HostFile f = new HostFile(b)) {
      f.editInode(n, (rec, off) -> rec[off + 5] = 0x10);
    }
    VerifyReport r = verifyImage(b.path, true);
    assertReported(r, b.inodeBlock(n), "inode table", "inode " + n, "flags 0x10", "reserved");
    assertThat(r.problems()).hasSize(1);
  }

  @Test
  void nonZeroReservedBytesOfAnInlineExtentAreReported() throws IOException {
    Built b = build("xreserved.vde");
    long n = b.inode("/a/multi");
    try (HostFile f = new HostFile(b)) {
      // Inline extent 0 is at core offset 80; its reserved u32 is at 20 within it.
      f.editInode(n, (rec, off) -> put32(rec, off + 80 + 20, 0x1234));
    }
    VerifyReport r = verifyImage(b.path, true);
    assertReported(r, b.inodeBlock(n), "inode table", "inode " + n + " extent 0", "reserved");
    assertThat(r.problems()).hasSize(1);
  }

  @Test
  void nonZeroReservedBytesInAnExtentChainBlockAreReported() throws IOException {
    Chained c = withExtentChain("chainreserved.vde");
    Path p = c.path();
    long chainBlock = c.firstChainBlock();
    long big = c.inode();
    try (HostFile f = new HostFile(p, BS)) {
      byte[] b = f.read(chainBlock);
      int count = b[0] & 0xFF;
      put32(b, 4, 9);
      put32(b, 16 + 20, 5);
      b[16 + 24 * count + 3] = 1;
      f.reseal(chainBlock, b, BlockType.EXTENT, (int) big);
    }
    VerifyReport r = verifyImage(p, true);
    assertReported(r, chainBlock, "indirect extent block", "chain block 0 of inode " + big, "bytes 4..7");
    assertReported(r, chainBlock, "indirect extent block", "inode " + big + " extent 8", "reserved");
    assertReported(r, chainBlock, "indirect extent block", "chain block 0 of inode " + big, "after its extents");
    assertThat(r.problems()).hasSize(3);
  }

  @Test
  void directoryBlockBytesOutsideItsEntriesAreReported() throws IOException {
    Built b = build("direreserved.vde");
    long rootBlock = b.firstBlock("/");
    try (HostFile f = new HostFile(b)) {
      byte[] d = f.read(rootBlock);
      int used = (d[2] & 0xFF) | (d[3] & 0xFF) << 8;
      put32(d, 4, 3);
      d[8 + used + 2] = 'x';
      f.reseal(rootBlock, d, BlockType.DIRECTORY, (int) Inode.ROOT);
    }
    VerifyReport r = verifyImage(b.path, true);
    assertReported(r, rootBlock, "directory", "directory inode 1", "bytes 4..7");
    assertReported(r, rootBlock, "directory", "directory inode 1", "after its entries");
    assertThat(r.problems()).hasSize(2);
  }

  @Test
  void regionEntryWithUndefinedFlagsIsReported() throws IOException {
    Built b = build("rflags.vde");
    long start;
    try (HostFile f = new HostFile(b)) {
      start = f.newestSuperblock().regionDirStart();
      byte[] d = f.read(start);
      int count = d[0] & 0xFF;
      for (int k = 0; k < count; k++) {
        int at = RegionDirectory.HEADER_SIZE + k * RegionDirectory.ENTRY_SIZE;
        int tag = (d[at] & 0xFF) | (d[at + 1] & 0xFF) << 8 | (d[at + 2] & 0xFF) << 16 | (d[at + 3] & 0xFF) << 24;
        if (tag == RegionDirectory.TAG_BITMAP) {
          put32(d, at + 4, 0x2);
        } else if (tag == RegionDirectory.TAG_WAL) {
          // A module id without the module bit: the entry is read as a core region, and the id means nothing.
          put32(d, at + 4, 0x500);
        }
      }
      f.reseal(start, d, BlockType.REGION_DIRECTORY, 0);
    }
    VerifyReport r = verifyImage(b.path, true);
    assertReported(r, start, "region directory", "region BMAP", "flags 0x2");
    assertReported(r, start, "region directory", "region MWAL", "flags 0x500");
    assertThat(r.problems()).hasSize(2);
  }

  @Test
  void regionDirectoryBytesOutsideItsEntriesAreReported() throws IOException {
    Built b = build("rtail.vde");
    long start;
    try (HostFile f = new HostFile(b)) {
      start = f.newestSuperblock().regionDirStart();
      byte[] d = f.read(start);
      int count = d[0] & 0xFF;
      put32(d, 4, 1);
      d[RegionDirectory.HEADER_SIZE + count * RegionDirectory.ENTRY_SIZE + 1] = 7;
      f.reseal(start, d, BlockType.REGION_DIRECTORY, 0);
    }
    VerifyReport r = verifyImage(b.path, true);
    assertReported(r, start, "region directory", "region directory block 0", "bytes 4..7");
    assertReported(r, start, "region directory", "region directory block 0", "after its entries");
    assertThat(r.problems()).hasSize(2);
  }

  @Test
  void garbageInodeTableBlocksGiveProblemsNotExceptions() throws IOException {
    Built b = build("garbage.vde");
    long first = b.inodeBlock(Inode.ROOT);
    byte[] junk = SeededBytes.bytes(99, BS);
    try (HostFile f = new HostFile(b)) {
      // Block 0 of the table: random bytes with a broken trailer. Block 1: random bytes under a valid trailer, so
      // every record in it is decoded and judged on its content.
      f.write(first, junk.clone());
      byte[] sealed = SeededBytes.bytes(7, BS);
      for (int i = 0; i < BS / 320; i++) {
        sealed[i * 320 + 4] = (byte) (1 + i % 2);
      }
      f.reseal(first + 1, sealed, BlockType.INODE_TABLE, 1);
    }
    VerifyReport r = verifyImage(b.path, true);
    assertReported(r, first, "inode table", "checksum mismatch");
    assertThat(r.problems()).anyMatch(pr -> pr.blockNo() == first + 1);
  }

  @Test
  void randomlySealedGarbageAnywhereNeverThrows() throws IOException {
    Built b = build("fuzz.vde");
    SplittableRandom rnd = new SplittableRandom(42);
    List<Long> targets = new ArrayList<>();
    for (List<Extent> xs : b.extents.values()) {
      for (Extent e : xs) {
        targets.add(e.start());
      }
    }
    targets.add(b.inodeBlock(Inode.ROOT));
    try (HostFile f = new HostFile(b)) {
      for (long t : targets) {
        byte[] old = f.read(t);
        BlockType type = BlockType.fromTag(BlockCodec.storedTag(old));
        f.reseal(t, SeededBytes.bytes(rnd.nextLong(), BS), type == null ? BlockType.DATA : type,
            BlockCodec.storedGeneration(old));
      }
    }
    // Open reads only the superblock, region directory and bitmap, all intact; the verifier meets the garbage.
    VerifyReport r = verifyImage(b.path, true);
    assertThat(r.clean()).isFalse();
    assertReported(r, b.inodeBlock(Inode.ROOT), "inode table", "inode 1");
  }

  // ------------------------------------------------------------------------------------------------ fixtures

  /** A small tree: nested directories, empty files, one-block and multi-block files. */
  private static void populate(VirtualDisk d, int payload) throws IOException {
    d.mkdirs("/a/b/c");
    d.mkdirs("/a/d");
    d.mkdir("/e");
    d.writeFile("/empty", new byte[0]);
    d.writeFile("/a/b/c/empty", new byte[0]);
    d.writeFile("/one", SeededBytes.bytes(1, 100));
    d.writeFile("/two", SeededBytes.bytes(2, 200));
    d.writeFile("/a/multi", SeededBytes.bytes(3, 5 * payload + 17));
    d.writeFile("/a/d/exact", SeededBytes.bytes(4, 2 * payload));
  }

  /**
   * Gives /big more than eight extents, so it needs an indirect extent chain: 40 one-block files, every other one
   * deleted, a filler taking the free space after them, then /big, which only fits in the 1-block holes.
   */
  private static void fragment(VirtualDisk d, int payload) throws IOException {
    d.mkdir("/frag");
    d.batch(x -> {
      for (int i = 0; i < 40; i++) {
        x.writeFile("/frag/s" + i, SeededBytes.bytes(100 + i, payload));
      }
    });
    d.batch(x -> {
      for (int i = 0; i < 40; i += 2) {
        x.delete("/frag/s" + i);
      }
    });
    // Freed blocks are handed out again only after the checkpoint that follows their release.
    d.checkpoint();
    long free = d.info().freeBlocks();
    d.writeFile("/filler", new byte[(int) ((free - 24) * payload)]);
    d.writeFile("/big", SeededBytes.bytes(5, 14 * payload + 5));
    assertThat(d.stat("/big").extentCount()).as("precondition: /big is fragmented").isGreaterThan(8);
  }

  /** Builds the standard tree in a new image and closes it; returns what the damage tests need to find. */
  private Built build(String name) throws IOException {
    Path p = dir.resolve(name);
    try (VirtualDisk d = VirtualDisk.create(p, CreateOptions.ofSize(SIZE).blockSize(BS))) {
      populate(d, BS - BlockCodec.TRAILER_SIZE);
      Volume v = d.volume();
      Map<String, Long> inodes = new LinkedHashMap<>();
      Map<String, List<Extent>> extents = new LinkedHashMap<>();
      for (String k : KNOWN) {
        long n = d.stat(k).inode();
        inodes.put(k, n);
        extents.put(k, v.withStableState(() -> v.readInode(n)).extents());
      }
      long inodeStart = region(d, RegionDirectory.TAG_INODES).start();
      long bitmapStart = region(d, RegionDirectory.TAG_BITMAP).start();
      return new Built(p, d.info().totalBlocks(), inodeStart, d.info().inodeSize(), bitmapStart,
          d.info().inodeCount(), inodes, extents);
    }
  }

  private static RegionDirectory.Entry region(VirtualDisk d, int tag) throws IOException {
    return d.info().regions().stream().filter(e -> e.tag() == tag && !e.isModuleRegion()).findFirst().orElseThrow();
  }

  /** Where things were in an image built by {@link #build}. */
  private record Built(Path path, long totalBlocks, long inodeStart, int inodeSize, long bitmapStart,
      long inodeCount, Map<String, Long> inodes, Map<String, List<Extent>> extents) {
    long inode(String p) {
      return inodes.get(p);
    }

    long firstBlock(String p) {
      return extents.get(p).get(0).start();
    }

    int perBlock() {
      return (BS - BlockCodec.TRAILER_SIZE) / inodeSize;
    }

    long inodeBlock(long n) {
      return inodeStart + n / perBlock();
    }
  }

  /**
   * Creates {@code p} with 1,200 files and stops a migration adding Tags at a checkpoint part-way; returns the
   * first block of the checkpoint region.
   */
  private static long withPendingMigration(Path p) throws IOException {
    long chk;
    try (VirtualDisk d = VirtualDisk.create(p, CreateOptions.ofSize(SIZE).blockSize(BS).inodeCount(2000))) {
      d.batch(x -> {
        for (int i = 0; i < 1200; i++) {
          x.writeFile("/f" + i, new byte[] {(byte) i});
        }
      });
      dev.vde.module.MigrationControl ctl = new dev.vde.module.MigrationControl(0, false);
      dev.vde.module.MigrationOptions o = dev.vde.module.MigrationOptions.defaults().checkpointEvery(100)
          .control(ctl).listener(pr -> {
            if (pr.migrated() >= 300) {
              ctl.cancel();
            }
          });
      assertThat(dev.vde.module.InodeMigration.start(d, List.of(Module.TAGS), o).cancelled()).isTrue();
      chk = d.volume().regions().find(RegionDirectory.TAG_CHECKPOINT).start();
      TestVolumes.assertClean(d.verify(Progress.NONE), "with a pending migration and its checkpoint");
    }
    return chk;
  }

  private static VerifyReport verifyImage(Path p, boolean readOnly) throws IOException {
    try (VirtualDisk d = VirtualDisk.open(p, readOnly ? OpenOptions.readOnlyOptions() : OpenOptions.defaults())) {
      return d.verify(Progress.NONE);
    }
  }

  /** Fails, listing every problem found, unless one is at {@code block} in {@code structure} with all fragments. */
  private static void assertReported(VerifyReport r, long block, String structure, String... fragments) {
    boolean found = r.problems().stream().anyMatch(p -> p.blockNo() == block && p.structure().equals(structure)
        && Arrays.stream(fragments).allMatch(p.message()::contains));
    assertThat(found).as("a problem at block %d (%s) mentioning %s; found:%n  %s", block, structure,
        Arrays.toString(fragments), TestVolumes.describe(r.problems())).isTrue();
  }

  private static void put32(byte[] b, int off, int v) {
    for (int i = 0; i < 4; i++) {
      b[off + i] = (byte) (v >>> (8 * i));
    }
  }

  private static void put64(byte[] b, int off, long v) {
    for (int i = 0; i < 8; i++) {
      b[off + i] = (byte) (v >>> (8 * i));
    }
  }

  /** Edits one inode record in place: receives the table block and the record's offset. */
  @FunctionalInterface
  private interface RecordEdit {
    void apply(byte[] block, int offset);
  }

  /** Raw block access to a closed image, for damaging it. */
  private static final class HostFile implements AutoCloseable {
    private final RandomAccessFile raf;
    private final int bs;
    private final Built built;

    HostFile(Built built) throws IOException {
      this.raf = new RandomAccessFile(built.path.toFile(), "rw");
      this.bs = BS;
      this.built = built;
    }

    HostFile(Path p, int bs) throws IOException {
      this.raf = new RandomAccessFile(p.toFile(), "rw");
      this.bs = bs;
      this.built = null;
    }

    byte[] read(long blockNo) throws IOException {
      byte[] b = new byte[bs];
      raf.seek(blockNo * bs);
      raf.readFully(b);
      return b;
    }

    void write(long blockNo, byte[] b) throws IOException {
      raf.seek(blockNo * bs);
      raf.write(b);
    }

    /** Damage the checksum will catch. */
    void flipByte(long blockNo, int offset) throws IOException {
      byte[] b = read(blockNo);
      b[offset] ^= 0x40;
      write(blockNo, b);
    }

    /** Writes {@code b} under a valid trailer, so only logical checks can find what is wrong with it. */
    void reseal(long blockNo, byte[] b, BlockType type, int generation) throws IOException {
      BlockCodec.seal(b, type, generation);
      write(blockNo, b);
    }

    void setBitmapBit(long block, boolean value) throws IOException {
      long perBlock = (long) (bs - BlockCodec.TRAILER_SIZE) * 8;
      int index = (int) (block / perBlock);
      long bit = block % perBlock;
      byte[] b = read(built.bitmapStart + index);
      int mask = 1 << (bit & 7);
      b[(int) (bit >>> 3)] = (byte) (value ? b[(int) (bit >>> 3)] | mask : b[(int) (bit >>> 3)] & ~mask);
      reseal(built.bitmapStart + index, b, BlockType.BITMAP, index);
    }

    void editInode(long n, RecordEdit edit) throws IOException {
      long blockNo = built.inodeBlock(n);
      byte[] b = read(blockNo);
      edit.apply(b, (int) (n % built.perBlock()) * built.inodeSize);
      reseal(blockNo, b, BlockType.INODE_TABLE, (int) (n / built.perBlock()));
    }

    /** Points the entry {@code name} of the directory block at {@code target}. */
    void editDirectory(long blockNo, long dirInode, String name, long target) throws IOException {
      List<DirectoryBlockCodec.Entry> es = new ArrayList<>();
      for (DirectoryBlockCodec.Entry e : DirectoryBlockCodec.read(read(blockNo), blockNo, "test")) {
        es.add(e.name().equals(name) ? new DirectoryBlockCodec.Entry(name, target, e.type()) : e);
      }
      write(blockNo, DirectoryBlockCodec.write(bs, es, dirInode));
    }

    void addDirectoryEntry(long blockNo, long dirInode, String name, long target, int type) throws IOException {
      List<DirectoryBlockCodec.Entry> es =
          new ArrayList<>(DirectoryBlockCodec.read(read(blockNo), blockNo, "test"));
      es.add(new DirectoryBlockCodec.Entry(name, target, type));
      write(blockNo, DirectoryBlockCodec.write(bs, es, dirInode));
    }

    Superblock newestSuperblock() throws IOException {
      Superblock s0 = Superblock.read(read(0), 0, "test");
      Superblock s1 = Superblock.read(read(1), 1, "test");
      return s0.sequence() > s1.sequence() ? s0 : s1;
    }

    @Override
    public void close() throws IOException {
      raf.close();
    }
  }
}
