package dev.vde.module;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.Module;
import dev.vde.format.Superblock;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Module field values the engine refuses with its own exception, and a manifest the verifier refuses. */
class ModuleFieldArgumentsTest {
  @Test
  void aNullFieldValueIsRefusedAndChangesNothing() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(new PowerLossDevice("fields"), CreateOptions.ofSize(4L << 20)
        .module(Module.TRANSIT))) {
      d.writeFile("/f", new byte[] {1});
      d.writeModuleField("/f", Module.TRANSIT, new byte[] {5});
      assertThatThrownBy(() -> d.writeModuleField("/f", Module.TRANSIT, null))
          .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("null");
      assertThatThrownBy(() -> d.updateModuleField("/f", Module.TRANSIT, cur -> null))
          .isInstanceOf(VdeInvalidArgumentException.class);
      assertThat(d.readModuleField("/f", Module.TRANSIT)).containsExactly(5);
    }
  }

  // Encoding an unpaired surrogate as UTF-8 silently stored '?' in its place: the tag read back was another.
  @Test
  void tagKeysAndValuesMustBeValidUnicode() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(new PowerLossDevice("tags"), CreateOptions.ofSize(4L << 20)
        .module(Module.TAGS))) {
      d.writeFile("/f", new byte[] {1});
      assertThatThrownBy(() -> Tags.set(d, "/f", "k\uD800", "v")).isInstanceOf(VdeInvalidArgumentException.class);
      assertThatThrownBy(() -> Tags.set(d, "/f", "k", "\uDC00v")).isInstanceOf(VdeInvalidArgumentException.class);
      Tags.set(d, "/f", "k\uD83D\uDE00", "v\u00E9");
      assertThat(Tags.list(d, "/f")).containsOnlyKeys("k\uD83D\uDE00").containsValue("v\u00E9");
    }
  }

  @Test
  void theVerifierReportsAnActiveModuleWithoutItsInodeField() throws Exception {
    PowerLossDevice made = new PowerLossDevice("manifest");
    try (VirtualDisk d = VirtualDisk.create(made, CreateOptions.ofSize(4L << 20).blockSize(4096))) {
      d.writeFile("/f", new byte[] {1});
    }
    byte[] image = made.snapshot();
    for (int slot = 0; slot < 2; slot++) {
      Superblock s = Superblock.read(Arrays.copyOfRange(image, slot * 4096, (slot + 1) * 4096), slot, "test");
      // Transit listed as active, its field missing from the layout: what a lost padding claim would leave.
      Superblock t = s.withManifest(s.moduleManifest() | Module.TRANSIT.bit(), s.layout());
      System.arraycopy(t.write(), 0, image, slot * 4096, 4096);
    }
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(image), OpenOptions.readOnlyOptions())) {
      assertThat(d.verify(Progress.NONE).problems()).anySatisfy(p -> assertThat(p.toString())
          .contains("module Transit is active but the inode layout has no field for it"));
    }
  }
}
