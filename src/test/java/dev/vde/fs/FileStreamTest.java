package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.VdeCorruptedException;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** Streaming a whole file (read-ahead in pieces) gives exactly the bytes of a positional read, holes included. */
class FileStreamTest {

  @Test
  void stream_equalsReadFile_acrossPiecesHolesAndFragments() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("stream");
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(8L << 20).blockSize(512))) {
      // Interleaved appends fragment the file; a write far past its end leaves a hole of many pieces.
      byte[] a = SeededBytes.bytes(1, 700_000);
      d.writeFile("/big", a);
      d.writeFile("/other", SeededBytes.bytes(2, 3000));
      d.append("/big", SeededBytes.bytes(3, 5000));
      d.write("/big", 2_000_000, SeededBytes.bytes(4, 777), 0, 777);
      byte[] whole = d.readFile("/big");
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      long n = d.readFile("/big", out);
      assertThat(n).isEqualTo(whole.length).isEqualTo(2_000_777);
      assertThat(out.toByteArray()).isEqualTo(whole);
      assertThat(whole).startsWith(a);
      assertThat(java.util.Arrays.copyOfRange(whole, 705_000, 2_000_000)).containsOnly(0);
      ByteArrayOutputStream empty = new ByteArrayOutputStream();
      d.writeFile("/empty", new byte[0]);
      assertThat(d.readFile("/empty", empty)).isZero();
    }
  }

  @Test
  void stream_reportsADamagedBlockOfALaterPiece() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("stream-damage");
    long victim;
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(8L << 20).blockSize(512))) {
      d.writeFile("/big", SeededBytes.bytes(5, 1_500_000));
      victim = d.volume().readInode(d.stat("/big").inode()).extents().get(0).start() + 2000;
    }
    PowerLossDevice copy = PowerLossDevice.fromImage("damaged", dev.snapshot());
    byte[] b = new byte[512];
    copy.read(victim * 512, ByteBuffer.wrap(b));
    b[100] ^= 0x40;
    copy.write(victim * 512, ByteBuffer.wrap(b));
    try (VirtualDisk d = VirtualDisk.open(copy, OpenOptions.defaults())) {
      assertThatThrownBy(() -> d.readFile("/big", new ByteArrayOutputStream()))
          .isInstanceOf(VdeCorruptedException.class).hasMessageContaining("block " + String.format("%,d", victim));
    }
  }
}
