package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.format.Bytes;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Appending an entry in place must give the block that encoding the longer list gives. */
class DirectoryBlockCodecTest {
  private static final int BS = 512;

  @Test
  void appendInPlaceEqualsEncodingTheLongerList() throws Exception {
    List<DirectoryBlockCodec.Entry> es = new ArrayList<>(List.of(new DirectoryBlockCodec.Entry("a", 5, 1)));
    byte[] b = DirectoryBlockCodec.write(BS, es, 9);
    int cap = DirectoryBlockCodec.capacity(BS);
    int k = 0;
    while (true) {
      DirectoryBlockCodec.Entry e = new DirectoryBlockCodec.Entry("név-" + k, 100 + k, 2);
      int used = DirectoryBlockCodec.usedBytes(b, 7, "test");
      if (cap - used < e.encodedSize()) {
        break;
      }
      DirectoryBlockCodec.append(b, e);
      BlockCodec.seal(b, BlockType.DIRECTORY, 9);
      es.add(e);
      assertThat(b).isEqualTo(DirectoryBlockCodec.write(BS, es, 9));
      assertThat(DirectoryBlockCodec.read(b, 7, "test")).isEqualTo(es);
      k++;
    }
    assertThat(k).isGreaterThan(20);
    byte[] full = b;
    assertThatThrownBy(() -> DirectoryBlockCodec.append(full, new DirectoryBlockCodec.Entry("x".repeat(200), 1, 1)))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void usedBytesPastTheBlockIsCorruption() {
    byte[] b = DirectoryBlockCodec.write(BS, List.of(), 9);
    Bytes.put16(b, 2, BS);
    assertThatThrownBy(() -> DirectoryBlockCodec.usedBytes(b, 42, "img"))
        .isInstanceOf(VdeCorruptedException.class).hasMessageContaining("42").hasMessageContaining("used bytes");
  }
}
