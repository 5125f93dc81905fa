package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.testing.PowerLossDevice;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Names are stored as UTF-8. A Java string with an unpaired surrogate has no UTF-8 form: encoding it silently
 * put '?' in its place, so the file was renamed on disk, and a second name that encoded alike made a directory
 * hold one name twice, which a reopen then refused to load (the whole volume, for the root).
 */
class NameEncodingTest {
  private static VirtualDisk fresh(PowerLossDevice dev) throws Exception {
    return VirtualDisk.create(dev, CreateOptions.ofSize(4L << 20).blockSize(4096));
  }

  @Test
  void aNameWithAnUnpairedSurrogateIsRefusedEverywhereAPathIsTaken() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("names");
    try (VirtualDisk d = fresh(dev)) {
      d.writeFile("/a?", new byte[] {1});
      d.mkdir("/dir");
      for (String bad : List.of("/a\uD800", "/x\uDC00y", "/dir/\uD83D", "/\uDE00\uD83D")) {
        assertThatThrownBy(() -> d.writeFile(bad, new byte[] {2})).isInstanceOf(VdeInvalidArgumentException.class)
            .hasMessageContaining("unpaired surrogate");
        assertThatThrownBy(() -> d.mkdir(bad)).isInstanceOf(VdeInvalidArgumentException.class);
        assertThatThrownBy(() -> d.rename("/a?", bad)).isInstanceOf(VdeInvalidArgumentException.class);
      }
      assertThat(d.list("/").stream().map(DirEntry::name)).containsExactlyInAnyOrder("a?", "dir");
      assertThat(d.verify(Progress.NONE).problems()).isEmpty();
    }
    try (VirtualDisk d = VirtualDisk.open(dev.powerLoss(PowerLossDevice.KeepPolicy.NONE), OpenOptions.defaults())) {
      assertThat(d.readFile("/a?")).containsExactly(1);
    }
  }

  @Test
  void namesOutsideTheBasicPlaneKeepTheirExactFormAcrossAReopen() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("names");
    String emoji = "/f\uD83D\uDE00 \u00E9\u4E2D";
    try (VirtualDisk d = fresh(dev)) {
      d.writeFile(emoji, new byte[] {3});
    }
    try (VirtualDisk d = VirtualDisk.open(dev.powerLoss(PowerLossDevice.KeepPolicy.NONE), OpenOptions.defaults())) {
      assertThat(d.list("/").stream().map(DirEntry::name)).containsExactly(emoji.substring(1));
      assertThat(d.readFile(emoji)).containsExactly(3);
    }
  }
}
