package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.io.FileBlockDevice;
import dev.vde.testing.FsModel;
import dev.vde.testing.FullHostDevice;
import dev.vde.testing.SeededBytes;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The host file system fills up under a sparse image in the middle of work: writes that need new host space fail
 * with "No space left on device", overwrites of space already taken still work ({@link FullHostDevice}). Every
 * failure must be an {@link IOException} with a message (the engine's own or the host's), never a runtime
 * exception; and once there is room again the image opens with every operation that returned normally, and
 * checks clean. An operation that failed may have happened or not (the journal stops the volume on a failed WAL
 * write, and recovery decides); its paths are left out of the comparison.
 */
class HostFullTest {
  @TempDir Path tmp;

  @ParameterizedTest(name = "seed={0}")
  @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
  void aHostThatFillsUpLosesNothingAcknowledged(int seed) throws IOException {
    Random rnd = new Random(seed);
    Path image = tmp.resolve("full-" + seed + ".vde");
    FullHostDevice dev = new FullHostDevice(FileBlockDevice.create(image));
    FsModel model = new FsModel();
    Set<String> uncertain = new HashSet<>();
    List<String> failures = new ArrayList<>();
    VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(16L << 20).walBlocks(64));
    int fillAt = 5 + rnd.nextInt(30);
    for (int op = 0; op < 80; op++) {
      if (op == fillAt) {
        dev.fill();
      }
      String path = "/d" + rnd.nextInt(3) + "/f" + rnd.nextInt(12);
      int kind = rnd.nextInt(10);
      try {
        if (kind < 4) {
          byte[] data = SeededBytes.bytes(seed * 1000 + op, rnd.nextInt(4) == 0 ? 200_000 : rnd.nextInt(20_000));
          d.mkdirs(FsModel.parentOf(path));
          if (!model.isDir(FsModel.parentOf(path))) {
            model.mkdir(FsModel.parentOf(path));
          }
          if (kind == 3) {
            d.writeFile(path, new ByteArrayInputStream(data));
          } else {
            d.writeFile(path, data);
          }
          model.writeFile(path, data);
        } else if (kind < 6 && model.isFile(path)) {
          byte[] data = SeededBytes.bytes(seed * 1000 + op, 1 + rnd.nextInt(9000));
          long at = rnd.nextInt((int) Math.min(Integer.MAX_VALUE, model.content(path).length + 1));
          d.write(path, at, data, 0, data.length);
          model.write(path, at, data);
        } else if (kind < 8 && model.isFile(path)) {
          d.delete(path);
          model.delete(path);
        } else if (kind == 8 && model.isFile(path)) {
          long size = rnd.nextInt(50_000);
          d.truncate(path, size);
          model.truncate(path, size);
        } else if (kind == 9) {
          d.checkpoint();
        }
      } catch (IOException e) {
        assertThat(e.getMessage()).as("failure of op %d", op).isNotBlank();
        failures.add(op + ": " + e.getMessage());
        uncertain.add(path);
      }
    }
    try {
      d.close();
    } catch (IOException e) {
      // The closing checkpoint may fail too; what was acknowledged is in the WAL.
      failures.add("close: " + e.getMessage());
    }
    assertThat(dev.refusals()).as("the host refused some writes").isPositive();
    dev.free();
    try (VirtualDisk again = VirtualDisk.open(FileBlockDevice.open(image, false), OpenOptions.defaults())) {
      FsModel found = FsModel.readFrom(again);
      for (Map.Entry<String, byte[]> f : model.files().entrySet()) {
        if (!uncertain.contains(f.getKey())) {
          assertThat(found.isFile(f.getKey())).as("%s kept; failures %s", f.getKey(), failures).isTrue();
          assertThat(found.content(f.getKey())).as("%s content; failures %s", f.getKey(), failures)
              .isEqualTo(f.getValue());
        }
      }
      for (String f : found.files().keySet()) {
        assertThat(model.isFile(f) || uncertain.contains(f)).as("%s appeared; failures %s", f, failures).isTrue();
      }
      assertThat(again.verify(Progress.NONE).problems()).as("failures %s", failures).isEmpty();
    }
  }

  /**
   * Opening an image with an unreplayed WAL on a host that is still full: opened whole, or refused with the host's
   * reason and then opened whole once there is room.
   */
  @ParameterizedTest(name = "seed={0}")
  @ValueSource(ints = {1, 2, 3})
  void reopeningWhileTheHostIsStillFull(int seed) throws IOException {
    Path image = tmp.resolve("still-" + seed + ".vde");
    FullHostDevice dev = new FullHostDevice(FileBlockDevice.create(image));
    VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(16L << 20));
    FsModel model = new FsModel();
    for (int i = 0; i < 5 * seed; i++) {
      byte[] data = SeededBytes.bytes(i, 3000 * i);
      d.writeFile("/f" + i, data);
      model.writeFile("/f" + i, data);
    }
    dev.fill();
    try {
      d.close();
    } catch (IOException e) {
      // Fine: the WAL holds it.
    }
    FullHostDevice again = new FullHostDevice(FileBlockDevice.open(image, false));
    again.fill();
    try (VirtualDisk r = VirtualDisk.open(again, OpenOptions.defaults())) {
      assertThat(FsModel.readFrom(r).diff(model)).isEmpty();
    } catch (IOException e) {
      // Recovery's checkpoint needs host space: refused with the host's reason, the image unchanged.
      assertThat(e.getMessage()).contains("No space left on device");
      again.close();
    }
    try (VirtualDisk r = VirtualDisk.open(FileBlockDevice.open(image, false), OpenOptions.defaults())) {
      assertThat(FsModel.readFrom(r).diff(model)).isEmpty();
      assertThat(r.verify(Progress.NONE).problems()).isEmpty();
    }
  }
}
