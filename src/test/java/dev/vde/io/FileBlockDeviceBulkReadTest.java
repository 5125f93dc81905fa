package dev.vde.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.vde.testing.SeededBytes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bulk reads past the page cache: they return what {@link FileBlockDevice#read} returns (writes not yet synced
 * included), take the direct path only for buffers and ranges it can serve, and an interrupt that closes the
 * direct channel, which drops the process's lock on the file, leaves the file locked again.
 */
class FileBlockDeviceBulkReadTest {
  private static final int MIB = 1 << 20;

  @TempDir
  Path tmp;

  private static byte[] bytes(ByteBuffer b) {
    byte[] out = new byte[b.limit()];
    b.get(0, out);
    return out;
  }

  /** A device holding {@code content}, written and not synced; skips the test where direct I/O is not offered. */
  private FileBlockDevice deviceWithDirectReads(Path p, byte[] content) throws IOException {
    FileBlockDevice dev = FileBlockDevice.create(p);
    dev.write(0, ByteBuffer.wrap(content));
    ByteBuffer probe = BlockDevice.bulkBuffer(BlockDevice.BULK_ALIGNMENT);
    dev.readBulk(0, probe);
    assumeThat(dev.directReads()).as("the host file system offers direct I/O").isPositive();
    return dev;
  }

  @Test
  void bulkBuffersOfAnySizeAreDirectAlignedAndWhole() {
    for (int bytes : new int[] {512, 4096, 22 * 1024, 2 * MIB, 2 * MIB + 512}) {
      ByteBuffer b = BlockDevice.bulkBuffer(bytes);
      assertThat(b.isDirect()).isTrue();
      assertThat(b.capacity()).as("capacity of a buffer of %d bytes", bytes).isEqualTo(bytes);
      assertThat(b.remaining()).isEqualTo(bytes);
      assertThat(b.alignmentOffset(0, BlockDevice.BULK_ALIGNMENT)).isZero();
    }
  }

  @Test
  void anAlignedBulkReadGoesPastTheCache_andSeesWritesNotYetSynced() throws IOException {
    byte[] content = SeededBytes.bytes(1, 2 * MIB);
    try (FileBlockDevice dev = deviceWithDirectReads(tmp.resolve("a.vde"), content)) {
      long before = dev.directReads();
      ByteBuffer buf = BlockDevice.bulkBuffer(MIB);
      dev.readBulk(MIB, buf);
      assertThat(dev.directReads()).isEqualTo(before + 1);
      assertThat(buf.position()).isEqualTo(MIB);
      assertThat(bytes(buf)).isEqualTo(java.util.Arrays.copyOfRange(content, MIB, 2 * MIB));
      // Written after the cache was bypassed once, still unsynced: the direct read must see it.
      byte[] later = SeededBytes.bytes(2, 8192);
      dev.write(4096, ByteBuffer.wrap(later));
      ByteBuffer head = BlockDevice.bulkBuffer(16384);
      dev.readBulk(0, head);
      byte[] expected = java.util.Arrays.copyOf(content, 16384);
      System.arraycopy(later, 0, expected, 4096, later.length);
      assertThat(bytes(head)).isEqualTo(expected);
      assertThat(dev.directReads()).isEqualTo(before + 2);
    }
  }

  @Test
  void whatDirectIoCannotServeIsReadThroughTheCache_withTheSameBytes() throws IOException {
    byte[] content = SeededBytes.bytes(3, MIB);
    try (FileBlockDevice dev = deviceWithDirectReads(tmp.resolve("b.vde"), content)) {
      long before = dev.directReads();
      ByteBuffer heap = ByteBuffer.allocate(8192);
      dev.readBulk(8192, heap);
      assertThat(heap.array()).isEqualTo(java.util.Arrays.copyOfRange(content, 8192, 16384));
      ByteBuffer offsetUnaligned = BlockDevice.bulkBuffer(8192);
      dev.readBulk(512, offsetUnaligned);
      assertThat(bytes(offsetUnaligned)).isEqualTo(java.util.Arrays.copyOfRange(content, 512, 512 + 8192));
      ByteBuffer lengthUnaligned = BlockDevice.bulkBuffer(8192).limit(4608);
      dev.readBulk(4096, lengthUnaligned);
      assertThat(bytes(lengthUnaligned)).isEqualTo(java.util.Arrays.copyOfRange(content, 4096, 4096 + 4608));
      ByteBuffer addressUnaligned = BlockDevice.bulkBuffer(16384).position(512).limit(512 + 8192).slice();
      dev.readBulk(4096, addressUnaligned);
      assertThat(bytes(addressUnaligned)).isEqualTo(java.util.Arrays.copyOfRange(content, 4096, 4096 + 8192));
      assertThat(dev.directReads()).as("none of these could go direct").isEqualTo(before);
    }
  }

  @Test
  void aBulkReadPastTheEndGivesZeros_asReadDoes() throws IOException {
    byte[] content = SeededBytes.bytes(4, 3 * 4096);
    try (FileBlockDevice dev = deviceWithDirectReads(tmp.resolve("c.vde"), content)) {
      ByteBuffer buf = BlockDevice.bulkBuffer(4 * 4096);
      dev.readBulk(2 * 4096, buf);
      byte[] expected = new byte[4 * 4096];
      System.arraycopy(content, 2 * 4096, expected, 0, 4096);
      assertThat(bytes(buf)).isEqualTo(expected);
      assertThat(buf.hasRemaining()).isFalse();
    }
  }

  /**
   * Closing the direct channel, as the JDK does when a thread reading through it is interrupted, drops the
   * process's lock on the file. The next bulk read must find it closed, take the lock again, and read the bytes.
   */
  @Test
  void aClosedDirectChannel_isRecovered_andTheFileLockedAgain() throws Exception {
    Path p = tmp.resolve("e.vde");
    byte[] content = SeededBytes.bytes(6, 2 * MIB);
    try (FileBlockDevice dev = deviceWithDirectReads(p, content)) {
      dev.sync();
      dev.directChannel().close();
      assertThat(FileBlockDeviceLockTest.otherProcessCanLock(p)).as("the close dropped the lock").isTrue();
      ByteBuffer buf = BlockDevice.bulkBuffer(MIB);
      dev.readBulk(MIB, buf);
      assertThat(bytes(buf)).isEqualTo(java.util.Arrays.copyOfRange(content, MIB, 2 * MIB));
      assertThat(dev.reopens()).isEqualTo(1);
      assertThat(FileBlockDeviceLockTest.otherProcessCanLock(p)).as("locked again").isFalse();
      assertThat(dev.directChannel()).as("bulk reads no longer go direct").isNull();
      long direct = dev.directReads();
      dev.readBulk(0, buf.clear());
      assertThat(bytes(buf)).isEqualTo(java.util.Arrays.copyOf(content, MIB));
      assertThat(dev.directReads()).isEqualTo(direct);
      dev.write(0, ByteBuffer.wrap(new byte[] {9}));
      dev.sync();
    }
    assertThat(FileBlockDeviceLockTest.otherProcessCanLock(p)).as("released on close").isTrue();
  }

  /**
   * The JDK closes a channel whose reading thread is interrupted, and closing any channel of the file drops the
   * process's lock on it. After interrupts landing in bulk reads, the file must be locked against other processes
   * again, the reads must have returned the right bytes, and each interrupt must still reach the thread.
   */
  @Test
  void interruptsDuringBulkReads_leaveTheFileLockedAndTheBytesRight() throws Exception {
    Path p = tmp.resolve("d.vde");
    byte[] content = SeededBytes.bytes(5, 8 * MIB);
    try (FileBlockDevice dev = deviceWithDirectReads(p, content)) {
      dev.sync();
      AtomicBoolean stop = new AtomicBoolean();
      AtomicReference<Throwable> failure = new AtomicReference<>();
      java.util.concurrent.atomic.AtomicInteger interruptsSeen = new java.util.concurrent.atomic.AtomicInteger();
      Thread reader = new Thread(() -> {
        ByteBuffer buf = BlockDevice.bulkBuffer(MIB);
        try {
          for (int i = 0; !stop.get(); i++) {
            int at = (i % 8) * MIB;
            buf.clear();
            dev.readBulk(at, buf);
            if (!java.util.Arrays.equals(bytes(buf), java.util.Arrays.copyOfRange(content, at, at + MIB))) {
              throw new AssertionError("wrong bytes at " + at);
            }
            if (Thread.interrupted()) {
              interruptsSeen.incrementAndGet();
            }
          }
        } catch (Throwable t) {
          failure.set(t);
        }
      }, "bulk-reader");
      reader.start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (dev.reopens() == 0 && failure.get() == null && System.nanoTime() < deadline) {
        reader.interrupt();
        Thread.sleep(1);
      }
      stop.set(true);
      reader.join(TimeUnit.SECONDS.toMillis(10));
      assertThat(reader.isAlive()).isFalse();
      assertThat(failure.get()).isNull();
      assertThat(dev.reopens()).as("an interrupt closed the direct channel, and the device recovered").isPositive();
      assertThat(interruptsSeen.get()).as("interrupts that reached the reading thread").isPositive();
      assertThat(FileBlockDeviceLockTest.otherProcessCanLock(p)).as("locked again after the recovery").isFalse();
      ByteBuffer again = BlockDevice.bulkBuffer(MIB);
      dev.readBulk(3 * MIB, again);
      assertThat(bytes(again)).isEqualTo(java.util.Arrays.copyOfRange(content, 3 * MIB, 4 * MIB));
    }
    assertThat(FileBlockDeviceLockTest.otherProcessCanLock(p)).as("released on close").isTrue();
  }
}
