package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeNoSpaceException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inside a batch, the space its own deletes free is not reusable until the batch is durable, while the volume's
 * free count already includes it: the error for a write that needs that space said "only N are free", which
 * contradicted {@code info()}. It now says how much is waiting and why, and the batch's earlier work survives.
 */
class BatchFreedSpaceMessageTest {
  @TempDir
  Path tmp;

  @Test
  void aWriteThatNeedsTheBatchsOwnFreedSpaceIsRefusedSayingWhy() throws Exception {
    Path image = tmp.resolve("small.vde");
    try (VirtualDisk disk = VirtualDisk.create(image, CreateOptions.ofSize(2 << 20).blockSize(4096))) {
      long free = disk.info().freeBlocks();
      byte[] big = new byte[(int) ((free * 2 / 3) * 4080)];
      disk.writeFile("/big", big);
      long freeAfterBig = disk.info().freeBlocks();

      assertThatThrownBy(() -> disk.batch(d -> {
        d.delete("/big");
        d.writeFile("/other", big);
      }))
          .isInstanceOf(VdeNoSpaceException.class)
          .hasMessageContaining("only " + freeAfterBig + " are free")
          .hasMessageContaining("more blocks freed by operations not yet durable")
          .hasMessageContaining("become reusable once they are");

      // The delete before the refused write completed and is kept; the space is usable after the batch.
      assertThat(disk.exists("/big")).isFalse();
      disk.writeFile("/other", big);
      assertThat(disk.verify(Progress.NONE).problems()).isEmpty();
    }
  }
}
