package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.Module;
import dev.vde.testing.PowerLossDevice;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * A {@link VirtualDisk.FieldUpdate} or {@link VirtualDisk.FormatWork} runs inside its transaction. A change made
 * from inside it used to commit a second transaction in the middle of the first, which then wrote back the inode
 * it had read before: the inner write was lost although it had returned, and the file mapped blocks the inner
 * transaction had freed. Such a change is now refused, and the outer operation with it.
 */
class CallbackReentryTest {
  private static byte[] filled(int n, int value) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) value);
    return b;
  }

  @Test
  void aFieldUpdateThatWritesToTheVolumeIsRefusedAndNothingChanges() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("reentry");
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(4L << 20).blockSize(4096)
        .module(Module.TRANSIT))) {
      d.writeFile("/f", filled(5000, 1));
      assertThatThrownBy(() -> d.updateModuleField("/f", Module.TRANSIT, cur -> {
        d.writeFile("/f", filled(5000, 2));
        return new byte[] {9};
      })).isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("must not change the volume");
      assertThatThrownBy(() -> d.updateModuleField("/f", Module.TRANSIT, cur -> {
        d.batch(x -> x.mkdir("/d"));
        return new byte[] {9};
      })).isInstanceOf(VdeInvalidArgumentException.class);
      assertThat(d.readFile("/f")).isEqualTo(filled(5000, 1));
      assertThat(d.readModuleField("/f", Module.TRANSIT)).containsExactly(0);
      assertThat(d.exists("/d")).isFalse();
      assertThat(d.verify(Progress.NONE).problems()).isEmpty();
      // Reading from inside is fine, and the volume stays usable.
      d.updateModuleField("/f", Module.TRANSIT, cur -> new byte[] {d.readFile("/f")[0]});
      assertThat(d.readModuleField("/f", Module.TRANSIT)).containsExactly(1);
      d.writeFile("/f", filled(5000, 2));
      assertThat(d.readFile("/f")).isEqualTo(filled(5000, 2));
    }
  }

  @Test
  void aFormatWorkThatWritesAFileIsRefused() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("reentry");
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(4L << 20).blockSize(4096))) {
      assertThatThrownBy(() -> d.changeFormat(tx -> {
        d.writeFile("/g", new byte[] {1});
        return null;
      })).isInstanceOf(VdeInvalidArgumentException.class);
      assertThat(d.exists("/g")).isFalse();
      assertThat(d.verify(Progress.NONE).problems()).isEmpty();
    }
  }
}
