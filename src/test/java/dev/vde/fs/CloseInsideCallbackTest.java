package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.Module;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.TestVolumes;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * {@code close()} from inside a {@link VirtualDisk.FieldUpdate} or {@link VirtualDisk.FormatWork}, which run inside
 * their transaction: the close checkpointed and closed the device under the open transaction, which then failed
 * on the closed device (a field update reading its inode block: an I/O error, not the volume's own "closed") or,
 * when it changed nothing, returned normally on a volume closed under it. Like any change from inside such a
 * callback, the close is refused, and the operation completes.
 */
class CloseInsideCallbackTest {
  @Test
  void closeFromInsideAFieldUpdateIsRefusedAndTheUpdateIsKept() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("close-in-callback");
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512).module(Module.TRANSIT));
    d.writeFile("/f", new byte[] {1});
    d.setCommitWindow(Duration.ofHours(1));
    Throwable[] inner = {null};
    d.updateModuleField("/f", Module.TRANSIT, cur -> {
      try {
        d.close();
      } catch (Exception e) {
        inner[0] = e;
      }
      return new byte[] {7};
    });
    assertThat(inner[0]).isInstanceOf(VdeInvalidArgumentException.class);
    assertThat(d.readModuleField("/f", Module.TRANSIT)).containsExactly(7);
    d.close();
    try (VirtualDisk re = TestVolumes.open(dev.powerLoss(KeepPolicy.NONE))) {
      assertThat(re.readModuleField("/f", Module.TRANSIT)).containsExactly(7);
    }
  }

  @Test
  void closeFromInsideAFormatWorkIsRefused() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(new PowerLossDevice("close-in-format"), TestVolumes.options(512))) {
      assertThatThrownBy(() -> d.changeFormat(tx -> {
        d.close();
        return null;
      })).isInstanceOf(VdeInvalidArgumentException.class);
      d.writeFile("/still-open", new byte[] {1});
    }
  }
}
