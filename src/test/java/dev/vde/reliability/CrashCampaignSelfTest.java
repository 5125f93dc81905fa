package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.fs.CreateOptions;
import dev.vde.io.BlockDevice;
import dev.vde.io.ForwardingBlockDevice;
import dev.vde.reliability.CrashCampaign.Model;
import dev.vde.testing.SeededBytes;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The campaign must be able to fail: a disk that acknowledges syncs without making anything durable, and a
 * script whose model is wrong, are both caught. Without this, a harness bug that accepts everything would make
 * every other sweep pass vacuously.
 */
class CrashCampaignSelfTest {

  /** A disk whose sync returns without doing anything: nothing ever becomes durable. */
  private static final class LyingSync extends ForwardingBlockDevice {
    LyingSync(BlockDevice dev) {
      super(dev);
    }

    @Override
    public void sync() {
      // The lie under test.
    }
  }

  private static Script smallScript() {
    Script s = new Script(CreateOptions.ofSize(1L << 20).blockSize(512).inodeCount(64), 4);
    s.mkdir("/d");
    s.writeFile("/d/a", SeededBytes.bytes(1, 700));
    s.append("/d/a", SeededBytes.bytes(2, 10));
    s.close();
    return s;
  }

  @Test
  void aDiskThatIgnoresSync_losesAcknowledgedOperations_andTheCampaignReportsIt() throws IOException {
    CrashCampaign c = new CrashCampaign(smallScript(), "self-test lying sync", LyingSync::new);
    Findings f = new Findings("self-test");
    for (long v = 0; v < c.totalWrites(); v++) {
      c.checkIndex(v, List.of(Model.LOSE_UNSYNCED), 1, f);
    }
    assertThat(f.cases()).isEqualTo(c.totalWrites());
    assertThat(f.isEmpty()).as("a disk that never syncs must fail the campaign").isFalse();
  }

  @Test
  void aScriptWhoseModelIsWrong_failsTheUninterruptedCheck_andEveryLaterCrashState() throws IOException {
    Script s = new Script(CreateOptions.ofSize(1L << 20).blockSize(512).inodeCount(64), 4);
    s.mkdir("/d");
    // The model says 5 bytes, the disk gets 6.
    s.op("writeFile /d/x", d -> d.writeFile("/d/x", new byte[6]), m -> m.writeFile("/d/x", new byte[5]));
    s.writeFile("/d/y", SeededBytes.bytes(3, 100));
    s.close();
    assertThat(CrashCampaign.uninterruptedProblems(s)).isNotEmpty();
    CrashCampaign c = new CrashCampaign(s, "self-test wrong model");
    Findings f = new Findings("self-test");
    c.checkIndex(c.firstWriteOf(3), List.of(Model.LOSE_UNSYNCED), 1, f);
    assertThat(f.isEmpty()).as("a crash after the mis-modelled step must not match the model").isFalse();
  }

  @Test
  void aHealthyDisk_passes() throws IOException {
    CrashCampaign c = new CrashCampaign(smallScript(), "self-test healthy");
    Findings f = new Findings("self-test");
    for (long v = 0; v < c.totalWrites(); v++) {
      c.checkIndex(v, List.of(Model.values()), 7, f);
    }
    f.report("crash states", c.totalWrites());
  }
}
