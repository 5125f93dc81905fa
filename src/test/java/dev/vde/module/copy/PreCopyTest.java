package dev.vde.module.copy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.fs.DirEntry;
import dev.vde.fs.FileType;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InPlaceAddition;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pre-copy of a writable source: data is copied while writers run, and the final pass, with writers held off,
 * must bring the destination to the source's state at that pass. The source is changed from the copy's own
 * progress callback, which the pre-copy calls without holding any lock of the source, at the moment the changes
 * hurt most: after the blocks they touch were pre-copied.
 */
class PreCopyTest {
  private static final int PAYLOAD = CopyFixtures.PAYLOAD;

  @TempDir
  Path tmp;

  /**
   * A file deleted after its blocks were pre-copied, the blocks released by a checkpoint and handed to a new file
   * (the only room left), a file rewritten smaller, one appended to, one renamed: the copy must hold the new bytes,
   * not the pre-copied ones.
   */
  @Test
  void blocksFreedAndReusedAfterThePreCopyAreCopiedAgain() throws Exception {
    for (boolean verify : new boolean[] {false, true}) {
      Path src = tmp.resolve("reuse-" + verify + ".vde");
      Path dst = tmp.resolve("reuse-" + verify + "-copy.vde");
      try (VirtualDisk d = CopyFixtures.create(src, 8L << 20)) {
        d.writeFile("/a", SeededBytes.bytes(1, 60 * PAYLOAD));
        d.writeFile("/b", SeededBytes.bytes(2, 40 * PAYLOAD + 5));
        d.writeFile("/c", SeededBytes.bytes(3, 20 * PAYLOAD));
        d.writeFile("/d", SeededBytes.bytes(4, 10 * PAYLOAD));
        // Fill the rest, so that a new file can only take blocks freed by a delete.
        d.writeFile("/filler", new byte[(int) ((d.info().freeBlocks() - 12) * PAYLOAD)]);
        List<Boolean> changed = new ArrayList<>();
        Progress atEnd = (phase, done, total, unit) -> {
          if (phase.equals("pre-copying") && done == total && changed.isEmpty()) {
            changed.add(true);
            try {
              d.delete("/a");
              d.checkpoint();
              d.writeFile("/new", SeededBytes.bytes(5, 60 * PAYLOAD));
              d.writeFile("/b", SeededBytes.bytes(6, 5 * PAYLOAD + 5));
              d.append("/c", SeededBytes.bytes(7, 3));
              d.rename("/d", "/renamed");
            } catch (IOException e) {
              throw new IllegalStateException(e);
            }
          }
        };
        CopyResult r = ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().verify(verify).progress(atEnd));
        assertThat(changed).as("the source was changed during the pre-copy").hasSize(1);
        assertThat(r.verified()).isEqualTo(verify);
        assertThat(d.readFile("/new")).isEqualTo(SeededBytes.bytes(5, 60 * PAYLOAD));
        Map<String, String> expected = CopyFixtures.tree(d);
        try (VirtualDisk c = VirtualDisk.open(dst)) {
          CopyFixtures.assertClean(c, dst.getFileName().toString());
          assertThat(CopyFixtures.tree(c)).isEqualTo(expected);
          assertThat(c.exists("/a")).isFalse();
        }
      }
    }
  }

  /**
   * The inode table is pre-copied too, after the data; inodes changed after that (a file rewritten, one
   * truncated, one created, the highest-numbered one deleted, which shortens the table the copy needs) must reach
   * the destination, and the final pass must write only the table blocks that hold them, not the whole table.
   * Transit's field fits the padding, so nothing is relocated; Tags grows the table over the first data blocks,
   * which are relocated, and the two plans may place them differently: inodes whose new extents differ are
   * written again too.
   */
  @Test
  void inodeTableBlocksChangedAfterTheirPreCopyAreWrittenAgain_andOnlyThose() throws Exception {
    for (int round = 0; round < 4; round++) {
      boolean verify = round % 2 == 1;
      Module added = round < 2 ? Module.TRANSIT : Module.TAGS;
      PowerLossDevice target = new PowerLossDevice("table-" + verify);
      RecordingDevice rec = new RecordingDevice(target, CopyFixtures.BS);
      try (VirtualDisk d = CopyFixtures.create(tmp.resolve("table-" + round + ".vde"), 16L << 20)) {
        CopyFixtures.populate(d);
        String highest = highestInode(d);
        List<Boolean> changed = new ArrayList<>();
        Progress atEnd = (phase, done, total, unit) -> {
          if (phase.equals("pre-copying inode table") && done == total && changed.isEmpty()) {
            changed.add(true);
            try {
              d.writeFile("/a/f5-with-a-long-enough-name", SeededBytes.bytes(21, 2 * PAYLOAD + 3));
              d.truncate("/a/b/c/big", 5);
              d.writeFile("/after", SeededBytes.bytes(22, 7));
              d.delete(highest);
            } catch (IOException e) {
              throw new IllegalStateException(e);
            }
            rec.reset();
          }
        };
        CopyResult r = ExtentAwareCopy.copy(d, rec, CopyOptions.defaults().addModule(added).verify(verify)
            .progress(atEnd));
        assertThat(r.blocksRelocated() > 0).as("blocks relocated").isEqualTo(added == Module.TAGS);
        assertThat(changed).as("the source was changed after the table's pre-copy").hasSize(1);
        assertThat(r.verified()).isEqualTo(verify);
        Map<String, String> expected = CopyFixtures.tree(d);
        assertThat(expected).containsKey("/after").doesNotContainKey(highest);
        try (VirtualDisk c = VirtualDisk.open(target, OpenOptions.readOnlyOptions())) {
          CopyFixtures.assertClean(c, "table-" + verify);
          assertThat(CopyFixtures.tree(c)).isEqualTo(expected);
          long start = c.volume().regions().find(RegionDirectory.TAG_INODES).start();
          long init = c.volume().superblock().inodeTableInitBlocks();
          int again = rec.writtenBlocks().get((int) start, (int) (start + init)).cardinality();
          assertThat(again).as("table blocks written again of %d", init).isPositive();
          if (added == Module.TRANSIT) {
            assertThat(again).as("table blocks written again of %d", init).isLessThan((int) init / 4);
          }
        }
      }
    }
  }

  /**
   * The pre-copy's scan runs while writers publish, so it can see one state in the table blocks it read first and
   * another in what it reads later. Here a fragmented file's inode has been read (in a run of table blocks read
   * at once) when another writer appends to the file: its extent chain, read afterwards, holds one extent more
   * than the inode says. The scan takes that for what it is (states that do not fit together, not damage), is made
   * again with publishing held, and the copy is exact.
   */
  @Test
  void aScanThatMeetsTwoStatesIsMadeAgainWithPublishingHeld() throws Exception {
    Path src = tmp.resolve("mixed.vde");
    Path dst = tmp.resolve("mixed-copy.vde");
    try (VirtualDisk d = CopyFixtures.create(src, 16L << 20)) {
      d.mkdir("/e");
      // Inodes enough that the fragmented file's lies past the first table block, after which the source changes.
      for (int i = 0; i < 20; i++) {
        d.writeFile("/e/f" + i, new byte[0]);
      }
      CopyFixtures.fragmented(d, "/frag", 12);
      int perBlock = CopyFixtures.BS / d.volume().superblock().inodeSize();
      assertThat(d.stat("/frag").inode() / perBlock).as("table block of /frag").isBetween(1L, 255L);
      List<String> events = new ArrayList<>();
      Progress during = (phase, done, total, unit) -> {
        events.add(phase + " " + done);
        // The first scan's first table block read (its start, 0 done, is reported before it).
        if (phase.equals("scanning inodes") && done == 1 && events.size() == 2) {
          try {
            d.writeFile("/spacer", SeededBytes.bytes(33, 10));
            d.append("/frag", SeededBytes.bytes(34, PAYLOAD));
          } catch (IOException e) {
            throw new IllegalStateException(e);
          }
        }
      };
      ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().progress(during));
      assertThat(d.stat("/frag").extentCount()).as("the append added an extent").isEqualTo(13);
      int preCopy = events.indexOf("pre-copying 0");
      assertThat(events.subList(1, preCopy)).as("the scan started over before the pre-copy")
          .contains("scanning inodes 1");
      Map<String, String> expected = CopyFixtures.tree(d);
      try (VirtualDisk c = VirtualDisk.open(dst)) {
        CopyFixtures.assertClean(c, "mixed-copy");
        assertThat(CopyFixtures.tree(c)).isEqualTo(expected);
      }
    }
  }

  /**
   * The unpaused scan reads the inode table in runs; a file deleted after its run was read and another grown
   * before its run is read are both counted, more data than the source ever held at once. With a module that makes
   * the destination's metadata larger, that mix did not fit and the copy was refused for room although the source
   * fits at every instant: such a plan is made again with publishing held, like any other mix of states.
   */
  @Test
  void aScanThatCountsADeletedFileNextToAGrownOne_tooMuchForTheDestination_isMadeAgainWithPublishingHeld()
      throws Exception {
    try (VirtualDisk d = CopyFixtures.create(tmp.resolve("mixed-space.vde"), 16L << 20, 4000)) {
      CopyOptions withModule = CopyOptions.defaults().addModule(Module.OBSERVABILITY);
      int perBlock = PAYLOAD / d.volume().superblock().inodeSize();
      d.writeFile("/x", SeededBytes.bytes(1, 400 * PAYLOAD));
      d.batch(x -> {
        for (int i = 0; i < 31; i++) {
          x.mkdir("/e" + i);
          for (int j = 0; j < 100; j++) {
            x.writeFile("/e" + i + "/" + j, new byte[0]);
          }
        }
      });
      d.writeFile("/y", SeededBytes.bytes(2, PAYLOAD));
      assertThat(d.stat("/x").inode() / perBlock).as("/x in the scan's first run").isLessThan(256);
      assertThat(d.stat("/y").inode() / perBlock).as("/y in a later run").isGreaterThanOrEqualTo(256);
      // Fill the source so that the destination, with its larger metadata, has room for 5 blocks more.
      DestinationGeometry g = DestinationGeometry.of(d.volume().superblock(), withModule);
      long fill = g.totalBlocks() - g.metadataEnd() - 5 - ExtentAwareCopy.estimateCopyBlocks(d);
      d.writeFile("/fill", new byte[(int) (fill * PAYLOAD)]);
      List<String> events = new ArrayList<>();
      Progress between = (phase, done, total, unit) -> {
        events.add(phase + " " + done);
        if (phase.equals("scanning inodes") && done == 256 && !events.contains("changed")) {
          events.add("changed");
          try {
            d.delete("/x");
            d.append("/y", SeededBytes.bytes(3, 200 * PAYLOAD));
          } catch (IOException e) {
            throw new IllegalStateException(e);
          }
        }
      };
      Path dst = tmp.resolve("mixed-space-copy.vde");

      ExtentAwareCopy.copy(d, dst, withModule.progress(between));

      assertThat(events).contains("changed");
      assertThat(events.subList(events.indexOf("changed"), events.indexOf("pre-copying 0")))
          .as("the scan started over").contains("scanning inodes 1");
      Map<String, String> expected = CopyFixtures.tree(d);
      try (VirtualDisk c = VirtualDisk.open(dst)) {
        CopyFixtures.assertClean(c, "mixed-space-copy");
        assertThat(CopyFixtures.tree(c)).isEqualTo(expected);
      }
    }
  }

  /** A failure that is not the scan's own (here the caller's progress callback) ends the copy, as it always did. */
  @Test
  void anExceptionFromTheProgressCallbackDuringTheFirstScanEndsTheCopy() throws Exception {
    Path dst = tmp.resolve("aborted.vde");
    try (VirtualDisk d = CopyFixtures.create(tmp.resolve("abort-src.vde"), 8L << 20)) {
      d.writeFile("/a", SeededBytes.bytes(1, 3 * PAYLOAD));
      boolean[] thrown = {false};
      Progress abortOnce = (phase, done, total, unit) -> {
        if (phase.equals("scanning inodes") && !thrown[0]) {
          thrown[0] = true;
          throw new IllegalStateException("caller aborts the copy");
        }
      };
      assertThatThrownBy(() -> ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().progress(abortOnce)))
          .isInstanceOf(IllegalStateException.class).hasMessage("caller aborts the copy");
      assertThat(dst).doesNotExist();
    }
  }

  /** The path of the file or directory with the highest inode number. */
  private static String highestInode(VirtualDisk d) throws IOException {
    String best = null;
    long bestIno = -1;
    List<String> dirs = new ArrayList<>(List.of("/"));
    while (!dirs.isEmpty()) {
      for (DirEntry e : d.list(dirs.remove(dirs.size() - 1))) {
        if (e.type() == FileType.DIRECTORY) {
          dirs.add(e.path());
        } else if (e.inode() > bestIno) {
          bestIno = e.inode();
          best = e.path();
        }
      }
    }
    return best;
  }

  /** A module added during the pre-copy changes the destination's layout: the final pass starts over. */
  @Test
  void aFormatChangeDuringThePreCopyStartsTheCopyOver() throws Exception {
    Path src = tmp.resolve("format.vde");
    Path dst = tmp.resolve("format-copy.vde");
    try (VirtualDisk d = CopyFixtures.create(src, 16L << 20)) {
      CopyFixtures.populate(d);
      List<Boolean> changed = new ArrayList<>();
      Progress atEnd = (phase, done, total, unit) -> {
        if (phase.equals("pre-copying") && done == total && changed.isEmpty()) {
          changed.add(true);
          try {
            InPlaceAddition.add(d, List.of(Module.TRANSIT));
            d.writeFile("/after", SeededBytes.bytes(9, 5 * PAYLOAD));
          } catch (IOException e) {
            throw new IllegalStateException(e);
          }
        }
      };
      CopyResult r = ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().addModule(Module.TAGS).progress(atEnd));
      assertThat(changed).hasSize(1);
      assertThat(r.modules()).contains(Module.TRANSIT, Module.TAGS);
      Map<String, String> expected = CopyFixtures.tree(d);
      try (VirtualDisk c = VirtualDisk.open(dst)) {
        CopyFixtures.assertClean(c, "format-copy");
        assertThat(c.info().modules()).contains(Module.TRANSIT, Module.TAGS);
        assertThat(CopyFixtures.tree(c)).isEqualTo(expected);
      }
    }
  }

  /** Writers are not held off while the data is pre-copied: a write from another thread finishes meanwhile. */
  @Test
  void writersRunDuringThePreCopy() throws Exception {
    Path src = tmp.resolve("run.vde");
    Path dst = tmp.resolve("run-copy.vde");
    ExecutorService other = Executors.newSingleThreadExecutor();
    try (VirtualDisk d = CopyFixtures.create(src, 16L << 20)) {
      CopyFixtures.populate(d);
      List<Future<?>> writes = new ArrayList<>();
      List<Boolean> finished = new ArrayList<>();
      Progress during = (phase, done, total, unit) -> {
        if (phase.equals("pre-copying") && done > 0 && writes.isEmpty()) {
          Future<?> w = other.submit(() -> {
            d.writeFile("/during", SeededBytes.bytes(11, 3 * PAYLOAD));
            return null;
          });
          writes.add(w);
          try {
            w.get(10, TimeUnit.SECONDS);
            finished.add(true);
          } catch (Exception e) {
            finished.add(false);
          }
        }
      };
      CopyResult r = ExtentAwareCopy.copy(d, dst, CopyOptions.defaults().progress(during));
      assertThat(finished).as("a write from another thread finished during the pre-copy").containsExactly(true);
      assertThat(r.pauseMillis()).isLessThanOrEqualTo(r.duration().toMillis());
      Map<String, String> expected = CopyFixtures.tree(d);
      try (VirtualDisk c = VirtualDisk.open(dst)) {
        CopyFixtures.assertClean(c, "run-copy");
        assertThat(CopyFixtures.tree(c)).isEqualTo(expected).containsKey("/during");
      }
    } finally {
      other.shutdownNow();
    }
  }

  /**
   * The I/O limit spares other users of the disk during the pre-copy; the final pass, which holds the source's
   * writers off, must not be stretched by it: its scan reads the whole inode table (about 1,700 blocks here, 1.7 s
   * at the limit), which is what the pre-copy exists to keep short.
   */
  @Test
  void theIoLimitDoesNotLengthenThePauseOfWriters() throws Exception {
    Path src = tmp.resolve("paced.vde");
    try (VirtualDisk d = CopyFixtures.create(src, 64L << 20, 24_000)) {
      d.batch(disk -> {
        for (int i = 0; i < 20_000; i++) {
          disk.writeFile("/e" + i, new byte[0]);
        }
      });
      List<String> phases = new ArrayList<>();
      CopyResult r = ExtentAwareCopy.copy(d, tmp.resolve("paced-copy.vde"), CopyOptions.defaults().maxIops(1000)
          .progress((phase, done, total, unit) -> {
            if (phases.isEmpty() || !phases.get(phases.size() - 1).equals(phase)) {
              phases.add(phase);
            }
          }));
      assertThat(phases).as("pre-copied, then scanned again").contains("pre-copying inode table")
          .containsSubsequence("pre-copying inode table", "scanning inodes");
      assertThat(r.pauseMillis()).as("milliseconds writers were held off").isLessThan(800);
      // The pre-copy itself kept to the limit: it read and wrote the table at 1,000 blocks a second.
      assertThat(r.duration().toMillis()).isGreaterThan(2500);
      try (VirtualDisk c = VirtualDisk.open(tmp.resolve("paced-copy.vde"))) {
        assertThat(c.info().inodesUsed()).isEqualTo(d.info().inodesUsed());
      }
    }
  }

  /** Without a pre-copy (or for a read-only source) the data is copied once, with writers held off. */
  @Test
  void noPreCopyWhenTurnedOffOrTheSourceIsReadOnly() throws Exception {
    Path src = tmp.resolve("off.vde");
    try (VirtualDisk d = CopyFixtures.create(src, 16L << 20)) {
      CopyFixtures.populate(d);
      List<String> phases = new ArrayList<>();
      ExtentAwareCopy.copy(d, tmp.resolve("off-copy.vde"), CopyOptions.defaults().preCopy(false)
          .progress((phase, done, total, unit) -> phases.add(phase)));
      assertThat(phases).doesNotContain("pre-copying");
    }
    List<String> phases = new ArrayList<>();
    ExtentAwareCopy.copy(src, tmp.resolve("ro-copy.vde"), CopyOptions.defaults()
        .progress((phase, done, total, unit) -> phases.add(phase)));
    assertThat(phases).contains("copying").doesNotContain("pre-copying");
  }
}
