package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeInvalidArgumentException;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Create options at their extremes: refused before the file exists, naming the option and its limit, or made into
 * a volume that opens with exactly what was asked for. Never a volume that create reports as made and open refuses,
 * or one that silently differs from the options.
 */
class CreateOptionsLimitsTest {
  @TempDir Path tmp;

  @ParameterizedTest(name = "walBlocks={0}")
  @ValueSource(longs = {Long.MAX_VALUE, Long.MAX_VALUE - 3, (1L << 62) + 1, 257})
  void aWalLargerThanTheVolumeIsRefused(long walBlocks) {
    Path image = tmp.resolve("wal.vde");
    assertThatThrownBy(() -> VirtualDisk.create(image, CreateOptions.ofSize(1 << 20).walBlocks(walBlocks)))
        .isInstanceOf(VdeInvalidArgumentException.class)
        .hasMessageContaining("WAL")
        .hasMessageContaining(String.valueOf(walBlocks));
    assertThat(image).doesNotExist();
  }

  @ParameterizedTest(name = "label={0}")
  @ValueSource(strings = {"a\u0000b", "a\uD800", "\uDC00"})
  void aLabelTheSuperblockCannotKeepAsGivenIsRefused(String label) {
    Path image = tmp.resolve("label.vde");
    assertThatThrownBy(() -> VirtualDisk.create(image, CreateOptions.ofSize(1 << 20).label(label)))
        .isInstanceOf(VdeInvalidArgumentException.class)
        .hasMessageContaining("label");
    assertThat(image).doesNotExist();
  }

  @Test
  void aLabelOfSixtyFourBytesIsKept() throws IOException {
    Path image = tmp.resolve("l.vde");
    String label = "\u00e9".repeat(32);
    VirtualDisk.create(image, CreateOptions.ofSize(1 << 20).label(label)).close();
    try (VirtualDisk d = VirtualDisk.open(image)) {
      assertThat(d.info().label()).isEqualTo(label);
    }
  }
}
