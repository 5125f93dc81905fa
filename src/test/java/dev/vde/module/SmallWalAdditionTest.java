package dev.vde.module;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeException;
import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A module addition is one WAL transaction: the bitmap blocks its new regions (or a migration's new table) cover,
 * the whole region directory and the superblock. With a small WAL and 512-byte blocks, where the region directory
 * takes 4 blocks and a large region covers several bitmap blocks, that transaction can be larger than the WAL. The
 * planner called such additions feasible and recommended them, and they then failed at commit with "operation is
 * too large for one metadata transaction ... split it into smaller ones", which the addition of one module cannot.
 */
class SmallWalAdditionTest {
  @TempDir
  Path dir;

  private static VirtualDisk create(long bytes) throws Exception {
    return VirtualDisk.create(new PowerLossDevice("small WAL"), CreateOptions.ofSize(bytes).blockSize(512)
        .walBlocks(8));
  }

  @Test
  void aRegionAdditionLargerThanTheWal_isNotRecommended_andIsRefusedBeforeAnyWrite() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("small WAL, large region");
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(1L << 30).blockSize(512).walBlocks(8))) {
      ModulePlanner.Analysis a = ModulePlanner.analyze(d, List.of(Module.INTEGRITY));
      assertThat(a.option(AdditionOption.REGION).feasible()).isFalse();
      assertThat(a.option(AdditionOption.REGION).reason()).contains("WAL");
      assertThat(a.recommended().option()).isEqualTo(AdditionOption.COPY);

      d.checkpoint();
      long writes = dev.writeCount();
      assertThatThrownBy(() -> InPlaceAddition.add(d, List.of(Module.INTEGRITY)))
          .isInstanceOf(VdeException.class).hasMessageContaining("WAL").hasMessageContaining("--option copy");
      assertThat(dev.writeCount()).as("nothing written").isEqualTo(writes);
      assertThat(d.info().modules()).isEmpty();
    }
  }

  @Test
  void aMigrationWhoseStartIsLargerThanTheWal_isNotRecommended_andIsRefusedBeforeAnyWrite() throws Exception {
    try (VirtualDisk d = create(64L << 20)) {
      d.writeFile("/a", new byte[] {1, 2, 3});
      ModulePlanner.Analysis a = ModulePlanner.analyze(d, List.of(Module.TAGS));
      assertThat(a.option(AdditionOption.MIGRATE).feasible()).isFalse();
      assertThat(a.option(AdditionOption.MIGRATE).reason()).contains("WAL");
      assertThat(a.recommended().option()).isEqualTo(AdditionOption.COPY);

      assertThatThrownBy(() -> InodeMigration.start(d, List.of(Module.TAGS), MigrationOptions.defaults()))
          .isInstanceOf(VdeException.class).hasMessageContaining("WAL").hasMessageContaining("--option copy");
      assertThat(InodeMigration.isPending(d)).isFalse();
      assertThat(d.info().modules()).isEmpty();
      assertThat(d.verify(Progress.NONE).problems()).isEmpty();

      Path dst = dir.resolve("with-tags.vde");
      ModuleOrchestrator.Outcome o = ModuleOrchestrator.executeRecommended(d, List.of(Module.TAGS),
          new ModuleOrchestrator.Controls(dst, null, null));
      assertThat(o.option()).isEqualTo(AdditionOption.COPY);
      try (VirtualDisk c = VirtualDisk.open(dst, OpenOptions.defaults())) {
        assertThat(c.info().modules()).containsExactly(Module.TAGS);
        assertThat(c.readFile("/a")).containsExactly(1, 2, 3);
        assertThat(c.verify(Progress.NONE).problems()).isEmpty();
      }
    }
  }

  @Test
  void additionsThatFitTheSmallWal_stillWork() throws Exception {
    try (VirtualDisk d = create(4L << 20)) {
      ModulePlanner.Analysis a = ModulePlanner.analyze(d, List.of(Module.SNAPSHOT, Module.TRANSIT));
      assertThat(a.recommended().option()).isEqualTo(AdditionOption.PADDING);
      ModuleOrchestrator.executeRecommended(d, List.of(Module.SNAPSHOT, Module.TRANSIT),
          ModuleOrchestrator.Controls.defaults());
      assertThat(ModulePlanner.analyze(d, List.of(Module.TAGS)).recommended().option())
          .isEqualTo(AdditionOption.MIGRATE);
      ModuleOrchestrator.executeRecommended(d, List.of(Module.TAGS), ModuleOrchestrator.Controls.defaults());
      assertThat(d.info().modules()).containsExactly(Module.TAGS, Module.SNAPSHOT, Module.TRANSIT);
      assertThat(d.verify(Progress.NONE).problems()).isEmpty();
    }
  }
}
