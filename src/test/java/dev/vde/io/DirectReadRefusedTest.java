package dev.vde.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.vde.testing.SeededBytes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hosts that do not serve direct reads: some refuse the open with O_DIRECT (tmpfs before Linux 6.6, some network
 * file systems), some open the file for direct I/O and then refuse each read with EINVAL (some FUSE and network
 * ones). Bulk reads then go through the page cache, give the same bytes as {@link FileBlockDevice#read}, keep the
 * host file locked, and do not try the direct path again. The file systems tests run on usually serve direct
 * reads, so the refusals are put in through {@link FileBlockDevice#directOpener}.
 */
class DirectReadRefusedTest {
  private static final int MIB = 1 << 20;

  @TempDir
  Path tmp;

  private static byte[] bytes(ByteBuffer b) {
    byte[] out = new byte[b.limit()];
    b.get(0, out);
    return out;
  }

  /**
   * A channel opened for direct I/O whose reads the host refuses: after serving {@code servedBytes} of
   * {@code content} (a read the host cut short before refusing the rest), every read fails with {@code error}.
   * It holds no descriptor of the host file, so closing it drops no lock.
   */
  private static final class RefusingChannel extends FileChannel {
    final byte[] content;
    final String error;
    int servedBytes;
    final AtomicInteger reads = new AtomicInteger();

    RefusingChannel(byte[] content, int servedBytes, String error) {
      this.content = content;
      this.servedBytes = servedBytes;
      this.error = error;
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
      reads.incrementAndGet();
      if (servedBytes > 0) {
        int n = Math.min(servedBytes, dst.remaining());
        dst.put(content, (int) position, n);
        servedBytes -= n;
        return n;
      }
      throw new IOException(error);
    }

    @Override
    public int read(ByteBuffer dst) {
      throw new UnsupportedOperationException();
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) {
      throw new UnsupportedOperationException();
    }

    @Override
    public int write(ByteBuffer src) {
      throw new UnsupportedOperationException();
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) {
      throw new UnsupportedOperationException();
    }

    @Override
    public long position() {
      throw new UnsupportedOperationException();
    }

    @Override
    public FileChannel position(long newPosition) {
      throw new UnsupportedOperationException();
    }

    @Override
    public long size() {
      return content.length;
    }

    @Override
    public FileChannel truncate(long size) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void force(boolean metaData) {
      throw new UnsupportedOperationException();
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target) {
      throw new UnsupportedOperationException();
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count) {
      throw new UnsupportedOperationException();
    }

    @Override
    public int write(ByteBuffer src, long position) {
      throw new UnsupportedOperationException();
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) {
      throw new UnsupportedOperationException();
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) {
      throw new UnsupportedOperationException();
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) {
      throw new UnsupportedOperationException();
    }

    @Override
    protected void implCloseChannel() {}
  }

  /** A device holding {@code content}, written and not synced, whose direct channel is {@code channel}. */
  private static FileBlockDevice device(Path p, byte[] content, RefusingChannel channel, AtomicInteger opens)
      throws IOException {
    FileBlockDevice dev = FileBlockDevice.create(p);
    dev.write(0, ByteBuffer.wrap(content));
    dev.directOpener(path -> {
      opens.incrementAndGet();
      return channel;
    });
    return dev;
  }

  @Test
  void readsRefusedWithEinval_fallBackToTheCache_andAreNotTriedAgain() throws Exception {
    Path p = tmp.resolve("einval.vde");
    byte[] content = SeededBytes.bytes(1, 2 * MIB);
    // The host serves 8 KiB of the first read and then refuses: what it gave stays, the rest comes from the cache.
    RefusingChannel refusing = new RefusingChannel(content, 8192, "Invalid argument");
    AtomicInteger opens = new AtomicInteger();
    try (FileBlockDevice dev = device(p, content, refusing, opens)) {
      ByteBuffer buf = BlockDevice.bulkBuffer(MIB);
      dev.readBulk(MIB, buf);
      assumeThat(opens.get()).as("the host's block size lets bulk reads go direct").isEqualTo(1);
      assertThat(refusing.reads.get()).as("the direct channel was tried").isEqualTo(2);
      assertThat(buf.position()).isEqualTo(MIB);
      assertThat(bytes(buf)).isEqualTo(Arrays.copyOfRange(content, MIB, 2 * MIB));
      assertThat(dev.directReads()).as("no read counted as direct").isZero();

      // Later bulk reads, aligned as a direct read wants, go through the cache at once and see later writes.
      byte[] later = SeededBytes.bytes(2, 8192);
      dev.write(4096, ByteBuffer.wrap(later));
      byte[] expected = Arrays.copyOf(content, MIB);
      System.arraycopy(later, 0, expected, 4096, later.length);
      for (int i = 0; i < 3; i++) {
        dev.readBulk(0, buf.clear());
        assertThat(bytes(buf)).as("bulk read %d after the refusal", i).isEqualTo(expected);
      }
      assertThat(refusing.reads.get()).as("the refused channel was not tried again").isEqualTo(2);
      assertThat(opens.get()).as("nor opened again").isEqualTo(1);
      assertThat(dev.directReads()).isZero();
      assertThat(FileBlockDeviceLockTest.otherProcessCanLock(p)).as("the file stays locked").isFalse();
      assertThat(refusing.isOpen()).as("kept open until the device closes").isTrue();
    }
    assertThat(refusing.isOpen()).as("closed with the device").isFalse();
    assertThat(FileBlockDeviceLockTest.otherProcessCanLock(p)).as("released on close").isTrue();
  }

  @Test
  void anotherErrorOfADirectRead_isReported_notTakenForARefusal() throws Exception {
    Path p = tmp.resolve("eio.vde");
    byte[] content = SeededBytes.bytes(3, MIB);
    RefusingChannel failing = new RefusingChannel(content, 0, "Input/output error");
    AtomicInteger opens = new AtomicInteger();
    try (FileBlockDevice dev = device(p, content, failing, opens)) {
      ByteBuffer buf = BlockDevice.bulkBuffer(MIB);
      assertThatThrownBy(() -> dev.readBulk(0, buf)).isInstanceOf(IOException.class)
          .hasMessageContaining("Input/output error");
      assumeThat(opens.get()).as("the host's block size lets bulk reads go direct").isEqualTo(1);
    }
  }

  @Test
  void aDirectOpenRefusedUpFront_leavesBulkReadsToTheCache_andIsNotTriedAgain() throws Exception {
    Path p = tmp.resolve("open-refused.vde");
    byte[] content = SeededBytes.bytes(4, MIB);
    AtomicInteger opens = new AtomicInteger();
    try (FileBlockDevice dev = FileBlockDevice.create(p)) {
      dev.write(0, ByteBuffer.wrap(content));
      dev.directOpener(path -> {
        opens.incrementAndGet();
        throw new IOException(path + ": Invalid argument");
      });
      ByteBuffer buf = BlockDevice.bulkBuffer(MIB / 2);
      for (int i = 0; i < 3; i++) {
        int at = (i % 2) * MIB / 2;
        dev.readBulk(at, buf.clear());
        assertThat(bytes(buf)).as("bulk read %d", i).isEqualTo(Arrays.copyOfRange(content, at, at + MIB / 2));
      }
      assumeThat(opens.get()).as("the host's block size lets bulk reads go direct").isPositive();
      assertThat(opens.get()).as("the refused open is not tried again").isEqualTo(1);
      assertThat(dev.directChannel()).isNull();
      assertThat(dev.directReads()).isZero();
      assertThat(FileBlockDeviceLockTest.otherProcessCanLock(p)).as("the file stays locked").isFalse();
    }
    assertThat(FileBlockDeviceLockTest.otherProcessCanLock(p)).as("released on close").isTrue();
  }

  /**
   * The same on a real tmpfs, where there is one (/dev/shm on Linux): older kernels refuse O_DIRECT there at the
   * open, newer ones serve it. Either way the bytes are right and the file stays locked.
   */
  @Test
  void onTmpfs_bulkReadsGiveTheRightBytes_whateverTheHostDoesWithDirectIo() throws Exception {
    Path shm = Path.of("/dev/shm");
    assumeThat(Files.isDirectory(shm) && Files.isWritable(shm)).as("a writable /dev/shm").isTrue();
    Path dir = Files.createTempDirectory(shm, "vde-direct");
    Path p = dir.resolve("tmpfs.vde");
    try {
      byte[] content = SeededBytes.bytes(5, 2 * MIB);
      try (FileBlockDevice dev = FileBlockDevice.create(p)) {
        dev.write(0, ByteBuffer.wrap(content));
        ByteBuffer buf = BlockDevice.bulkBuffer(MIB);
        for (int i = 0; i < 3; i++) {
          int at = (i % 2) * MIB;
          dev.readBulk(at, buf.clear());
          assertThat(bytes(buf)).as("bulk read %d", i).isEqualTo(Arrays.copyOfRange(content, at, at + MIB));
        }
        if (dev.directReads() == 0) {
          assertThat(dev.directChannel()).as("no direct channel left open where the host refused it").isNull();
        } else {
          assertThat(dev.directReads()).as("every aligned bulk read direct").isEqualTo(3);
        }
        assertThat(FileBlockDeviceLockTest.otherProcessCanLock(p)).as("the file stays locked").isFalse();
      }
      assertThat(FileBlockDeviceLockTest.otherProcessCanLock(p)).as("released on close").isTrue();
    } finally {
      Files.deleteIfExists(p);
      Files.deleteIfExists(dir);
    }
  }
}
