package dev.vde.crash;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.io.ForwardingBlockDevice;
import dev.vde.testing.FsModel;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The crash sweeps pass when the engine is right, which proves nothing unless they fail when it is wrong. These
 * tests feed the harness a broken world and check that it says so.
 */
class CrashHarnessSelfTest {

  /** A device that pretends to sync once it has seen {@code honestUntil} writes: a disk with a lying cache. */
  private static final class LyingSyncDevice extends ForwardingBlockDevice {
    private final PowerLossDevice dev;
    private final long honestUntil;

    LyingSyncDevice(PowerLossDevice dev, long honestUntil) {
      super(dev);
      this.dev = dev;
      this.honestUntil = honestUntil;
    }

    @Override
    public void sync() throws IOException {
      if (dev.writeCount() <= honestUntil) {
        dev.sync();
      }
    }

    @Override
    public String describe() {
      return "lying " + dev.describe();
    }
  }

  @Test
  void harness_reportsLostAcknowledgedOperations_whenTheDeviceIgnoresSync() throws IOException {
    Workload w = new Workload(4096);
    long afterCreate = new CrashHarness(w).firstWriteOf(1);
    CrashHarness lying = new CrashHarness(w, dev -> new LyingSyncDevice(dev, afterCreate));
    // A cut in the last operation before close: everything acknowledged since create sat in a cache that lied.
    long index = lying.firstWriteOf(w.size() - 1) - 1;
    CrashHarness.CutRun run = lying.runWithCut(index);
    List<String> failures = lying.check(run, KeepPolicy.NONE, false);
    assertThat(failures).as("an unsynced history must be reported").isNotEmpty();
    assertThat(failures.get(0)).contains("crash index " + index).contains("policy NONE")
        .contains("neither the tree before");
  }

  @Test
  void harness_reportsAnOverwriteThatMixesOldAndNewBytes() throws IOException {
    CrashHarness h = new CrashHarness(new Workload(4096));
    byte[] oldBytes = h.workload.overwriteOld();
    byte[] newBytes = h.workload.overwriteNew();
    FsModel tree = h.workload.modelAfter(h.workload.overwriteStep());
    byte[] mixed = newBytes.clone();
    int p = h.workload.payload;
    // New bytes in the first touched block, old ones in the second: what a non-atomic overwrite would leave.
    System.arraycopy(oldBytes, p, mixed, p, p);
    tree.writeFile(Workload.OVERWRITE_TARGET, mixed);
    String problem = h.overwriteProblem(tree);
    assertThat(problem).isNotNull().contains("neither all old nor all new").contains("new").contains("old");
    assertThat(h.overwriteProblem(h.workload.modelAfter(h.workload.overwriteStep()))).isNull();
    assertThat(h.overwriteProblem(h.workload.modelAfter(h.workload.overwriteStep() - 1))).isNull();
  }

  @Test
  void harness_reportsARunWhoseCutIsNeverReached() throws IOException {
    CrashHarness h = new CrashHarness(new Workload(4096));
    CrashHarness.CutRun run = h.runWithCut(h.totalWrites() + 5);
    assertThat(h.check(run, KeepPolicy.NONE, false)).singleElement().asString().contains("never reached");
  }
}
