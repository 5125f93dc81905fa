package dev.vde.module.migration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import dev.vde.fs.VirtualDisk;
import dev.vde.fs.WriterLockProbe;
import dev.vde.module.AdditionOption;
import dev.vde.module.InPlaceAddition;
import dev.vde.module.ModuleOrchestrator;
import dev.vde.testing.TestVolumes;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A migration plans its target layout before its first transaction takes the writer lock. A module added in
 * between (a padding claim committed by another thread) was missing from that layout: the migration dropped the
 * module's field from every inode while the module stayed active, and nothing could bring the field back. The
 * migration now plans again inside its transaction when the published format changed.
 */
class MigrationStartRaceTest {
  @Test
  void aPaddingClaimCommittedWhileAMigrationWaitsToStartKeepsItsField() throws Exception {
    try (TestVolumes.Volume v = TestVolumes.create(TestVolumes.BS_4K)) {
      VirtualDisk d = v.disk();
      d.writeFile("/a", new byte[] {1, 2, 3});
      AtomicReference<Throwable> failure = new AtomicReference<>();
      Thread other = new Thread(() -> {
        try {
          d.volume().withWriterLock(() -> {
            // Hold the lock until the migration has planned and waits for it; then claim padding for Transit.
            long until = System.nanoTime() + 10_000_000_000L;
            while (!WriterLockProbe.someoneWaits(d) && System.nanoTime() < until) {
              Thread.onSpinWait();
            }
            InPlaceAddition.add(d, List.of(Module.TRANSIT));
            d.writeModuleField("/a", Module.TRANSIT, new byte[] {7});
            return null;
          });
        } catch (Throwable t) {
          failure.set(t);
        }
      });
      other.start();
      while (!WriterLockProbe.held(d)) {
        Thread.onSpinWait();
      }
      ModuleOrchestrator.execute(d, List.of(Module.TAGS), AdditionOption.MIGRATE,
          ModuleOrchestrator.Controls.defaults());
      other.join();
      assertThat(failure.get()).isNull();

      assertThat(d.info().modules()).containsExactlyInAnyOrder(Module.TRANSIT, Module.TAGS);
      InodeLayout layout = d.volume().superblock().layout();
      assertThat(layout.fieldFor(Module.TRANSIT)).as("Transit's field in " + layout).isNotNull();
      assertThat(layout.fieldFor(Module.TAGS)).as("Tags' field in " + layout).isNotNull();
      assertThat(d.readModuleField("/a", Module.TRANSIT)).containsExactly(7);
      assertThat(d.readFile("/a")).containsExactly(1, 2, 3);
      assertThat(d.verify(Progress.NONE).problems()).isEmpty();
    }
  }
}
