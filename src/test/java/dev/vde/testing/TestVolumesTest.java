package dev.vde.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.check.Problem;
import dev.vde.check.VerifyReport;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The fixture every engine test leans on: it must give the volume asked for and must fail when verify complains. */
class TestVolumesTest {

  @ParameterizedTest(name = "blockSize={0}")
  @ValueSource(ints = {TestVolumes.BS_4K, TestVolumes.BS_512})
  void create_givesAnEmptyVolume_ofTheRequestedBlockSize(int blockSize) throws IOException {
    try (TestVolumes.Volume v = TestVolumes.create(blockSize)) {
      assertThat(v.disk().info().blockSize()).isEqualTo(blockSize);
      assertThat(v.disk().info().totalBlocks() * blockSize).isEqualTo(TestVolumes.SIZE);
      assertThat(v.disk().list("/")).isEmpty();
    }
  }

  @ParameterizedTest(name = "blockSize={0}")
  @ValueSource(ints = {TestVolumes.BS_4K, TestVolumes.BS_512})
  void closeAndVerify_reopensTheDurableImage_withEveryAcknowledgedWrite(int blockSize) throws IOException {
    byte[] data = SeededBytes.bytes(1, 3 * blockSize + 5);
    TestVolumes.Volume v = TestVolumes.create(blockSize);
    v.disk().mkdir("/d");
    v.disk().writeFile("/d/f", data);
    try (TestVolumes.Volume reopened = TestVolumes.closeAndVerify(v)) {
      assertThat(reopened.device()).as("a new device holding only the durable image").isNotSameAs(v.device());
      assertThat(reopened.disk().readFile("/d/f")).isEqualTo(data);
    }
  }

  @Test
  void assertClean_failsAndListsEveryProblem() {
    VerifyReport bad = new VerifyReport(List.of(new Problem(7, "allocation bitmap", "block 9 in use but free"),
        new Problem(-1, "directory tree", "orphan inode 12")), 10, 10, 2);
    assertThatThrownBy(() -> TestVolumes.assertClean(bad, "in a test"))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("2 problem(s) in a test")
        .hasMessageContaining("block 9 in use but free")
        .hasMessageContaining("orphan inode 12");
  }

  @Test
  void assertClean_passesAnEmptyReport() {
    VerifyReport good = new VerifyReport(List.of(), 10, 10, 2);
    TestVolumes.assertClean(good, "in a test");
    assertThat(good.clean()).isTrue();
  }
}
