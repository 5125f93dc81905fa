package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.testing.TestVolumes;
import org.junit.jupiter.api.Test;

/**
 * A transaction's work that ends in an {@link Error} (an assertion failing in a {@link VirtualDisk.FormatWork},
 * say) changes nothing, like one that throws an exception: its reservations used to stay taken, the blocks lost
 * to every later allocation until the volume was reopened.
 */
class ErrorInTransactionTest {
  @Test
  void anErrorInAFormatWork_returnsWhatItReserved() throws Exception {
    try (TestVolumes.Volume v = TestVolumes.create(TestVolumes.BS_4K)) {
      VirtualDisk d = v.disk();
      long free = d.volume().bitmap().allocatableFree();
      assertThatThrownBy(() -> d.changeFormat(tx -> {
        tx.allocateContiguous(100);
        throw new AssertionError("the callback's own check failed");
      })).isInstanceOf(AssertionError.class);
      assertThat(d.volume().bitmap().allocatableFree()).isEqualTo(free);
      d.writeFile("/f", new byte[] {1});
      assertThat(d.readFile("/f")).containsExactly(1);
    }
  }
}
