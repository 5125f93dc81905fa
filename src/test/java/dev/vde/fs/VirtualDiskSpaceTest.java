package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.VdeNoSpaceException;
import dev.vde.testing.FsModel;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Running out of blocks or inodes: the engine promises to refuse with {@link VdeNoSpaceException} before writing
 * anything, so the refused operation must leave no trace (tree, verify) and space freed afterwards must be usable
 * again (freed blocks return to the allocator only after a WAL checkpoint, which allocation pressure must force).
 */
class VirtualDiskSpaceTest {
  /** More 64 KiB files than a 4 MiB volume can hold. */
  private static final int FILE_BYTES = 64 * 1024;
  private static final int MAX_FILES = 80;

  @ParameterizedTest(name = "blockSize={0}")
  @ValueSource(ints = {TestVolumes.BS_4K, TestVolumes.BS_512})
  void fillingTheVolume_isRefusedWithNoSpace_andLeavesNoTrace_andDeletesMakeRoomAgain(int blockSize)
      throws IOException {
    TestVolumes.Volume v = TestVolumes.create(blockSize);
    FsModel model = new FsModel();
    VdeNoSpaceException refused = null;
    int written = 0;
    for (; written < MAX_FILES; written++) {
      byte[] data = SeededBytes.bytes(written, FILE_BYTES);
      try {
        v.disk().writeFile("/f" + written, data);
      } catch (VdeNoSpaceException e) {
        refused = e;
        break;
      }
      model.writeFile("/f" + written, data);
    }
    assertThat(refused).as("%d files of %d bytes cannot fit in %d bytes", MAX_FILES, FILE_BYTES, TestVolumes.SIZE)
        .isNotNull();
    assertThat(refused.getMessage()).isNotBlank();
    assertThat(written).as("files written before the volume filled up").isGreaterThan(10);
    assertThat(FsModel.readFrom(v.disk()).diff(model)).as("the refused file left no trace").isEmpty();
    TestVolumes.assertClean(v.disk().verify(Progress.NONE), "after a refused write on a full volume");

    for (int i = 0; i < written; i += 2) {
      v.disk().delete("/f" + i);
      model.delete("/f" + i);
    }
    for (int i = 0; i < 3; i++) {
      byte[] data = SeededBytes.bytes(1000 + i, FILE_BYTES);
      v.disk().writeFile("/again" + i, data);
      model.writeFile("/again" + i, data);
    }
    try (TestVolumes.Volume reopened = TestVolumes.closeAndVerify(v)) {
      assertThat(FsModel.readFrom(reopened.disk()).diff(model)).isEmpty();
    }
  }

  @ParameterizedTest(name = "blockSize={0}")
  @ValueSource(ints = {TestVolumes.BS_4K, TestVolumes.BS_512})
  void runningOutOfInodes_isRefusedWithNoSpace_andLeavesNoTrace(int blockSize) throws IOException {
    TestVolumes.Volume v = TestVolumes.create(blockSize);
    long inodes = v.disk().info().inodeCount();
    FsModel model = new FsModel();
    VdeNoSpaceException refused = null;
    int created = 0;
    for (; created <= inodes; created++) {
      try {
        v.disk().writeFile("/e" + created, new byte[0]);
      } catch (VdeNoSpaceException e) {
        refused = e;
        break;
      }
      model.writeFile("/e" + created, new byte[0]);
    }
    assertThat(refused).as("creating %d files with %d inodes", inodes + 1, inodes).isNotNull();
    assertThat(created).as("files created before inodes ran out").isGreaterThan((int) inodes / 2);
    assertThat(FsModel.readFrom(v.disk()).diff(model)).isEmpty();
    TestVolumes.assertClean(v.disk().verify(Progress.NONE), "after running out of inodes");
    v.disk().delete("/e0");
    model.delete("/e0");
    v.disk().mkdir("/after");
    model.mkdir("/after");
    try (TestVolumes.Volume reopened = TestVolumes.closeAndVerify(v)) {
      assertThat(FsModel.readFrom(reopened.disk()).diff(model)).isEmpty();
    }
  }
}
