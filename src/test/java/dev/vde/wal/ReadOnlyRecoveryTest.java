package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.TestVolumes;
import org.junit.jupiter.api.Test;

/**
 * A read-only open of a volume that was not closed cleanly replays the WAL in memory and writes nothing; it used
 * to warn that it had "recovered" the transactions, the same words as a writable open that wrote them in place,
 * although the image still needs that recovery (a copy of the file made now still carries it in its WAL).
 */
class ReadOnlyRecoveryTest {
  @Test
  void aReadOnlyOpenSaysItsReplayIsInMemoryOnly_andWritesNothing() throws Exception {
    PowerLossDevice plain = new PowerLossDevice("read-only-recovery");
    VirtualDisk d = VirtualDisk.create(plain, TestVolumes.options(512));
    d.writeFile("/a", new byte[] {1, 2, 3});
    PowerLossDevice crashed = plain.powerLoss(KeepPolicy.NONE);
    byte[] before = crashed.snapshot();

    try (VirtualDisk ro = VirtualDisk.open(crashed, OpenOptions.defaults().readOnly(true))) {
      assertThat(ro.readFile("/a")).containsExactly(1, 2, 3);
      assertThat(ro.info().warnings()).anySatisfy(w -> assertThat(w).startsWith("replayed 1 committed WAL")
          .contains("in memory only").contains("unchanged"));
      assertThat(ro.info().warnings()).noneSatisfy(w -> assertThat(w).startsWith("recovered"));
    }
    assertThat(crashed.writeCount()).isZero();
    assertThat(crashed.snapshot()).isEqualTo(before);

    // Closing the read-only volume closed its device; the same image, opened writable, recovers it in place.
    try (VirtualDisk rw = TestVolumes.open(PowerLossDevice.fromImage(before))) {
      assertThat(rw.info().warnings()).anySatisfy(w -> assertThat(w).startsWith("recovered 1 committed WAL"));
      assertThat(rw.readFile("/a")).containsExactly(1, 2, 3);
    }
  }
}
