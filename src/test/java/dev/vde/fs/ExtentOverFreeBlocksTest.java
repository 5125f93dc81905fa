package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.alloc.FreeSpaceScanner;
import dev.vde.inode.Extent;
import dev.vde.inode.Inode;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A file whose extent was damaged (checksum intact) to name blocks the allocation bitmap calls free. Freeing them
 * counted every block of the range as newly free, whether or not its bit had been set: the free count grew past
 * the blocks that are free, was written into the superblock, and past the volume's size the next open refused the
 * volume. And a block of the range that another file took before the checkpoint was handed back to the allocator
 * with the rest when the checkpoint released the free, so the next write took it and overwrote that file.
 */
class ExtentOverFreeBlocksTest {
  private static final int BS = 512;
  private static final int PAYLOAD = BS - 16;

  /**
   * A volume with /victim, whose extents are damaged to map, after its own block, every block from the trailing free
   * run on.
   */
  private static long damage(VirtualDisk d) throws IOException {
    d.writeFile("/victim", SeededBytes.bytes(1, PAYLOAD));
    Volume v = d.volume();
    long total = v.superblock().totalBlocks();
    long[] durable = v.bitmap().durableWords();
    long freeFrom = total;
    while (freeFrom > 0 && !FreeSpaceScanner.isSet(durable, freeFrom - 1)) {
      freeFrom--;
    }
    long from = freeFrom;
    long ino = d.stat("/victim").inode();
    d.mutate(t -> {
      Inode old = v.inodes.read(t, ino);
      List<Extent> xs = List.of(old.extents().get(0), new Extent(1, from, (int) (total - from)));
      v.inodes.write(t, old.withExtents(xs, (1 + total - from) * PAYLOAD, old.indirectBlock(), 0), old);
      return null;
    });
    assertThat(total - from).as("free blocks the damaged extent names").isGreaterThan(total / 2);
    return from;
  }

  @Test
  void deletingAFileThatMapsFreeBlocks_countsOnlyItsAllocatedBlocksFree_andTheVolumeOpensAgain() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("free blocks");
    long free;
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(2 << 20).blockSize(BS))) {
      damage(d);
      long before = d.info().freeBlocks();
      d.delete("/victim");
      free = d.info().freeBlocks();
      assertThat(free).as("free count after the delete: one block was allocated").isEqualTo(before + 1);
      assertThat(free).isEqualTo(FreeSpaceScanner.countFree(d.volume().bitmap().durableWords(),
          d.volume().superblock().totalBlocks()));
    }
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(dev.durableSnapshot()), OpenOptions.defaults())) {
      assertThat(d.info().freeBlocks()).isEqualTo(free);
      assertThat(d.volume().warnings()).isEmpty();
      assertThat(d.verify(Progress.NONE).clean()).isTrue();
    }
  }

  /**
   * A plan (a module addition's pre-flight, the planner) counts a free not yet released as room, but not the blocks
   * of it that another file took meanwhile: the release keeps those in use, and a plan relying on them would be
   * refused when it allocates.
   */
  @Test
  void aBlockTheDamagedFreeNamedThatAnotherFileTookMeanwhile_isNotPlannedOn() throws IOException {
    try (VirtualDisk d =
        VirtualDisk.create(new PowerLossDevice("planned"), CreateOptions.ofSize(2 << 20).blockSize(BS))) {
      long from = damage(d);
      d.truncate("/victim", PAYLOAD);
      d.writeFile("/kept", SeededBytes.bytes(2, 20 * PAYLOAD));
      Volume v = d.volume();
      Extent kept = v.readInode(d.stat("/kept").inode()).extents().get(0);
      assertThat(kept.start()).as("/kept lies in the range the damaged extent named").isGreaterThanOrEqualTo(from);
      long[] plannable = v.plannableWords();
      for (long b = kept.start(); b < kept.start() + kept.count(); b++) {
        assertThat(FreeSpaceScanner.isSet(plannable, b)).as("block %d of /kept stays unavailable to a plan", b).isTrue();
      }
      long total = v.superblock().totalBlocks();
      long planned = FreeSpaceScanner.countFree(plannable, total);
      d.checkpoint();
      assertThat(planned).as("what a plan counted on is what the release handed out")
          .isEqualTo(FreeSpaceScanner.countFree(v.bitmap().allocatableWordsCopy(), total));
    }
  }

  @Test
  void aBlockTheDamagedFreeNamedThatAnotherFileTookMeanwhile_staysInUseAfterTheCheckpoint() throws IOException {
    try (VirtualDisk d =
        VirtualDisk.create(new PowerLossDevice("taken"), CreateOptions.ofSize(2 << 20).blockSize(BS))) {
      long from = damage(d);
      // Frees the damaged range; none of it is reusable before the next checkpoint, but the blocks were never
      // in use, so the allocator hands them out at once.
      d.truncate("/victim", PAYLOAD);
      byte[] kept = SeededBytes.bytes(2, 20 * PAYLOAD);
      d.writeFile("/kept", kept);
      assertThat(d.volume().readInode(d.stat("/kept").inode()).extents().get(0).start())
          .as("/kept lies in the range the damaged extent named").isGreaterThanOrEqualTo(from);
      d.checkpoint();
      long total = d.volume().superblock().totalBlocks();
      long allocatable = FreeSpaceScanner.countFree(d.volume().bitmap().allocatableWordsCopy(), total);
      // Exactly what the allocator says is free: every such block is taken.
      d.writeFile("/filler", SeededBytes.bytes(3, (int) ((allocatable - 2) * PAYLOAD)));
      assertThat(d.readFile("/kept")).isEqualTo(kept);
      assertThat(d.verify(Progress.NONE).clean()).isTrue();
    }
  }
}
