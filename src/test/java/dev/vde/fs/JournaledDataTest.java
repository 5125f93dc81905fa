package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.module.copy.CopyOptions;
import dev.vde.module.copy.ExtentAwareCopy;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data of small unbatched transactions travels through the WAL and reaches its place only at the next
 * checkpoint. Until then the block in place is stale, so these tests check every reader while the data lives
 * only in the journal: positional and whole-file reads, a partial overwrite (which reads the old block), the
 * verifier, a read-only open that replays the WAL, the extent-aware copy, and recovery after a power cut.
 */
class JournaledDataTest {
  @TempDir
  Path tmp;

  private static long journaled(VirtualDisk d) {
    return d.volume().journal().publishedDataBlocks();
  }

  @Test
  void smallFileDataIsJournaledUntilTheCheckpoint() throws IOException {
    try (TestVolumes.Volume v = TestVolumes.create(TestVolumes.BS_4K)) {
      VirtualDisk d = v.disk();
      d.checkpoint();
      byte[] a = SeededBytes.bytes(1, 3 * d.volume().payload() + 5);
      d.writeFile("/a", a);
      assertThat(journaled(d)).isEqualTo(4);
      assertThat(d.readFile("/a")).isEqualTo(a);
      d.checkpoint();
      assertThat(journaled(d)).isZero();
      assertThat(d.readFile("/a")).isEqualTo(a);
    }
  }

  @Test
  void largeAndBatchedWritesGoInPlace() throws IOException {
    try (TestVolumes.Volume v = TestVolumes.create(TestVolumes.BS_4K)) {
      VirtualDisk d = v.disk();
      d.checkpoint();
      int payload = d.volume().payload();
      d.writeFile("/big", SeededBytes.bytes(2, (Volume.JOURNALED_DATA_BLOCKS + 1) * payload));
      assertThat(journaled(d)).isZero();
      d.batch(x -> {
        x.writeFile("/b1", SeededBytes.bytes(3, 100));
        x.writeFile("/b2", SeededBytes.bytes(4, 100));
      });
      assertThat(journaled(d)).isZero();
      d.writeFile("/limit", SeededBytes.bytes(5, Volume.JOURNALED_DATA_BLOCKS * payload));
      assertThat(journaled(d)).isEqualTo(Volume.JOURNALED_DATA_BLOCKS);
    }
  }

  @Test
  void aWalTooSmallForJournaledDataGetsTheDataInPlace() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("tiny WAL");
    byte[] a = SeededBytes.bytes(10, Volume.JOURNALED_DATA_BLOCKS * 496);
    try (VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(TestVolumes.BS_512).walBlocks(16))) {
      d.writeFile("/a", a);
      assertThat(journaled(d)).isZero();
      assertThat(d.readFile("/a")).isEqualTo(a);
    }
    try (VirtualDisk re = TestVolumes.open(dev.powerLoss(KeepPolicy.NONE))) {
      assertThat(re.readFile("/a")).isEqualTo(a);
      assertThat(re.verify(Progress.NONE).problems()).isEmpty();
    }
  }

  @Test
  void aPreallocatedHostGetsSmallDataInPlaceAndItsCopyJournalsAgain() throws IOException {
    byte[] a = SeededBytes.bytes(11, 3000);
    Path img = tmp.resolve("pre.vde");
    try (VirtualDisk d = VirtualDisk.create(img, CreateOptions.ofSize(8L << 20).preallocate(true))) {
      assertThat(d.volume().superblock().compat() & dev.vde.format.Superblock.COMPAT_HOST_PREALLOCATED).isNotZero();
      d.writeFile("/a", a);
      assertThat(journaled(d)).isZero();
      Path copy = tmp.resolve("copy.vde");
      ExtentAwareCopy.copy(d, copy, CopyOptions.defaults());
      try (VirtualDisk c = VirtualDisk.open(copy)) {
        // The copy's host file is sparse, so the hint must not travel with it.
        assertThat(c.volume().superblock().compat() & dev.vde.format.Superblock.COMPAT_HOST_PREALLOCATED).isZero();
        c.writeFile("/b", a);
        assertThat(journaled(c)).isEqualTo(1);
        assertThat(c.readFile("/a")).isEqualTo(a);
      }
    }
    try (VirtualDisk re = VirtualDisk.open(img)) {
      assertThat(re.volume().superblock().compat() & dev.vde.format.Superblock.COMPAT_HOST_PREALLOCATED).isNotZero();
      re.writeFile("/b", a);
      assertThat(journaled(re)).isZero();
      assertThat(re.readFile("/a")).isEqualTo(a);
    }
  }

  @Test
  void everyReaderSeesJournaledData() throws IOException {
    try (TestVolumes.Volume v = TestVolumes.create(TestVolumes.BS_4K)) {
      VirtualDisk d = v.disk();
      d.checkpoint();
      int payload = d.volume().payload();
      byte[] a = SeededBytes.bytes(6, 2 * payload + 100);
      d.writeFile("/a", a);
      // A partial overwrite copies the rest of the old block, which is only in the journal.
      byte[] patch = SeededBytes.bytes(7, 10);
      d.write("/a", payload + 50, patch, 0, patch.length);
      System.arraycopy(patch, 0, a, payload + 50, patch.length);
      d.truncate("/a", 2 * payload + 40);
      a = java.util.Arrays.copyOf(a, 2 * payload + 40);
      assertThat(journaled(d)).isPositive();

      byte[] part = new byte[30];
      assertThat(d.read("/a", payload + 45, part, 0, part.length)).isEqualTo(part.length);
      assertThat(part).isEqualTo(java.util.Arrays.copyOfRange(a, payload + 45, payload + 75));
      ByteArrayOutputStream streamed = new ByteArrayOutputStream();
      d.readFile("/a", streamed);
      assertThat(streamed.toByteArray()).isEqualTo(a);
      assertThat(d.verify(Progress.NONE).problems()).isEmpty();

      Path copy = tmp.resolve("copy.vde");
      ExtentAwareCopy.copy(d, copy, CopyOptions.defaults());
      assertThat(journaled(d)).isPositive();
      try (VirtualDisk c = VirtualDisk.open(copy)) {
        assertThat(c.readFile("/a")).isEqualTo(a);
        assertThat(c.verify(Progress.NONE).problems()).isEmpty();
      }
    }
  }

  @Test
  void powerCutAfterTheCommitKeepsJournaledData() throws IOException {
    try (TestVolumes.Volume v = TestVolumes.create(TestVolumes.BS_4K)) {
      VirtualDisk d = v.disk();
      d.checkpoint();
      byte[] a = SeededBytes.bytes(8, 5000);
      byte[] b = SeededBytes.bytes(9, 1);
      d.writeFile("/a", a);
      d.writeFile("/b", b);
      assertThat(journaled(d)).isEqualTo(3);
      // Nothing unsynced survives: the data must come back from the WAL, not from its (never written) place.
      PowerLossDevice survivor = v.device().powerLoss(KeepPolicy.NONE);
      try (VirtualDisk ro = VirtualDisk.open(survivor.powerLoss(KeepPolicy.NONE), OpenOptions.readOnlyOptions())) {
        assertThat(journaled(ro)).isEqualTo(3);
        assertThat(ro.readFile("/a")).isEqualTo(a);
        assertThat(ro.readFile("/b")).isEqualTo(b);
      }
      try (VirtualDisk re = TestVolumes.open(survivor)) {
        assertThat(re.readFile("/a")).isEqualTo(a);
        assertThat(re.readFile("/b")).isEqualTo(b);
        assertThat(journaled(re)).isZero();
        assertThat(re.verify(Progress.NONE).problems()).isEmpty();
      }
    }
  }
}
