package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.vde.VdeCorruptedException;
import dev.vde.inode.Extent;
import dev.vde.inode.ExtentMap;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Streaming a whole file (pieces read and checked by the caller and helper threads, written out in order) gives
 * exactly the bytes of a positional read: holes, fragments, blocks whose newest image is still in the WAL, many
 * readers at once, a sink too slow for the helpers, streams after streams; a damaged block fails the read with its
 * block number after the pieces before it, an {@code Error} in a helper and a volume closed under the stream fail
 * it the same way, and an interrupt stops it (unless every byte is out already); after any of these, the volume
 * reads on and the stream's piece buffers are back in the pool. A stream that never ends fails its test instead
 * of holding up the suite.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FileStreamTest {
  private static final int BS = 512;
  /** File bytes in one piece on a 512-byte-block volume. */
  private static final int PIECE = FileStreamer.PIECE_BYTES / BS * (BS - 16);

  @Test
  void stream_equalsReadFile_acrossPiecesHolesAndFragments() throws Exception {
    try (VirtualDisk d = fresh("stream")) {
      // Interleaved appends fragment the file; a write far past its end leaves a hole of several pieces.
      byte[] a = SeededBytes.bytes(1, PIECE + PIECE / 2);
      d.writeFile("/big", a);
      d.writeFile("/other", SeededBytes.bytes(2, 3000));
      d.append("/big", SeededBytes.bytes(3, 5000));
      long far = 4L * PIECE + 1234;
      d.write("/big", far, SeededBytes.bytes(4, 777), 0, 777);
      byte[] whole = d.readFile("/big");
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      long n = d.readFile("/big", out);
      assertThat(n).isEqualTo(whole.length).isEqualTo(far + 777);
      assertThat(out.toByteArray()).isEqualTo(whole);
      assertThat(whole).startsWith(a);
      assertThat(Arrays.copyOfRange(whole, a.length + 5000, (int) far)).containsOnly(0);
      ByteArrayOutputStream empty = new ByteArrayOutputStream();
      d.writeFile("/empty", new byte[0]);
      assertThat(d.readFile("/empty", empty)).isZero();
    }
  }

  @Test
  void stream_takesBlocksWhoseNewestImageIsStillInTheWal() throws Exception {
    try (VirtualDisk d = fresh("stream-wal")) {
      byte[] expected = SeededBytes.bytes(6, 3 * PIECE);
      d.writeFile("/big", expected);
      // Small writes inside the second and third pieces: their blocks go to the WAL, not in place.
      byte[] patch = SeededBytes.bytes(7, 1500);
      for (long at : new long[] {PIECE + 100, 2L * PIECE + 7000}) {
        d.write("/big", at, patch, 0, patch.length);
        System.arraycopy(patch, 0, expected, (int) at, patch.length);
      }
      assertThat(d.volume().journal().publishedDataBlocks()).isPositive();
      assertThat(streamed(d, "/big")).isEqualTo(expected);
    }
  }

  @Test
  void stream_afterOtherStreams_givesOnlyItsOwnBytes() throws Exception {
    try (VirtualDisk d = fresh("stream-reuse")) {
      // Piece buffers outlive a stream: a later stream's short pieces and holes must not show what an earlier
      // one left in them.
      byte[] full = SeededBytes.bytes(20, 3 * PIECE);
      d.writeFile("/full", full);
      byte[] sparse = SeededBytes.bytes(21, PIECE + 300);
      d.writeFile("/sparse", sparse);
      long far = 3L * PIECE + 50;
      d.write("/sparse", far, SeededBytes.bytes(22, 10), 0, 10);
      byte[] expected = d.readFile("/sparse");
      assertThat(Arrays.copyOfRange(expected, sparse.length, (int) far)).containsOnly(0);
      for (int round = 0; round < 3; round++) {
        assertThat(streamed(d, "/full")).isEqualTo(full);
        assertThat(streamed(d, "/sparse")).isEqualTo(expected);
      }
    }
  }

  @Test
  void stream_manyReadersAtOnceEachGetTheirOwnFile() throws Exception {
    int files = 4;
    try (VirtualDisk d = fresh("stream-many")) {
      for (int i = 0; i < files; i++) {
        d.writeFile("/f" + i, SeededBytes.bytes(10 + i, 2 * PIECE + 999 * i));
      }
      ExecutorService readers = Executors.newFixedThreadPool(files);
      try {
        List<Future<byte[]>> got = new ArrayList<>();
        for (int round = 0; round < 2; round++) {
          for (int i = 0; i < files; i++) {
            String name = "/f" + i;
            got.add(readers.submit(() -> {
              ByteArrayOutputStream out = new ByteArrayOutputStream();
              d.readFile(name, out);
              return out.toByteArray();
            }));
          }
        }
        for (int k = 0; k < got.size(); k++) {
          int i = k % files;
          assertThat(got.get(k).get()).isEqualTo(SeededBytes.bytes(10 + i, 2 * PIECE + 999 * i));
        }
      } finally {
        readers.shutdownNow();
      }
    }
  }

  @Test
  void stream_interruptedCallerStopsAndTheVolumeStaysUsable() throws Exception {
    try (VirtualDisk d = fresh("stream-interrupt")) {
      byte[] data = SeededBytes.bytes(9, 3 * PIECE);
      d.writeFile("/big", data);
      Thread.currentThread().interrupt();
      try {
        assertThatThrownBy(() -> d.readFile("/big", new ByteArrayOutputStream()))
            .isInstanceOf(java.io.InterruptedIOException.class);
        assertThat(Thread.currentThread().isInterrupted()).isTrue();
      } finally {
        Thread.interrupted();
      }
      assertThat(streamed(d, "/big")).isEqualTo(data);
    }
  }

  @Test
  void stream_interruptedDuringItsLastWrite_hasWrittenTheWholeFile_andSaysSo() throws Exception {
    try (VirtualDisk d = fresh("stream-late-interrupt")) {
      byte[] data = SeededBytes.bytes(35, 2 * PIECE + 99);
      d.writeFile("/big", data);
      // Interrupted while its sink takes the last piece: every byte went out, so the stream has not failed (it
      // threw InterruptedIOException, and a caller would have discarded a complete copy).
      ByteArrayOutputStream out = new ByteArrayOutputStream() {
        @Override
        public synchronized void write(byte[] b, int off, int len) {
          super.write(b, off, len);
          if (size() == data.length) {
            Thread.currentThread().interrupt();
          }
        }
      };
      try {
        assertThat(d.readFile("/big", out)).isEqualTo(data.length);
        assertThat(Thread.currentThread().isInterrupted()).isTrue();
      } finally {
        Thread.interrupted();
      }
      assertThat(out.toByteArray()).isEqualTo(data);
    }
  }

  /** The device block holding logical block {@code logical} of file {@code path}. */
  private static long deviceBlock(VirtualDisk d, String path, long logical) throws Exception {
    return ExtentMap.physical(d.volume().readInode(d.stat(path).inode()).extents(), logical);
  }

  @Test
  void stream_reportsADamagedBlockOfALaterPiece() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("stream-damage");
    long victim;
    try (VirtualDisk d = fresh(dev)) {
      d.writeFile("/big", SeededBytes.bytes(5, 3 * PIECE));
      d.writeFile("/ok", SeededBytes.bytes(8, 2 * PIECE));
      // In the third piece: the first two have been handed out by then.
      victim = deviceBlock(d, "/big", 2L * FileStreamer.PIECE_BYTES / BS + 17);
    }
    PowerLossDevice copy = PowerLossDevice.fromImage("damaged", dev.snapshot());
    flipBit(copy, victim, 100, 0x40);
    try (VirtualDisk d = VirtualDisk.open(copy, OpenOptions.defaults())) {
      CountingStream out = new CountingStream();
      assertThatThrownBy(() -> d.readFile("/big", out))
          .isInstanceOf(VdeCorruptedException.class).hasMessageContaining("block " + String.format("%,d", victim));
      // Nothing of the damaged piece went out: only the whole pieces before it.
      assertThat(out.count).isLessThanOrEqualTo(2L * PIECE);
      // The failed stream leaves the workers usable.
      assertThat(streamed(d, "/ok")).isEqualTo(SeededBytes.bytes(8, 2 * PIECE));
    }
  }

  @Test
  void stream_withTwoDamagedPieces_reportsTheFirst_afterWritingOnlyThePiecesBeforeIt() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("stream-damage-two");
    long first;
    long later;
    try (VirtualDisk d = fresh(dev)) {
      d.writeFile("/big", SeededBytes.bytes(13, 6 * PIECE));
      List<dev.vde.inode.Extent> xs = d.volume().readInode(d.stat("/big").inode()).extents();
      // Pieces 1 and 4: whichever thread fills them, the caller writes piece 0 only, then reports piece 1.
      first = ExtentMap.physical(xs, 1L * FileStreamer.PIECE_BYTES / BS + 3);
      later = ExtentMap.physical(xs, 4L * FileStreamer.PIECE_BYTES / BS + 5);
    }
    PowerLossDevice copy = PowerLossDevice.fromImage("damaged-two", dev.snapshot());
    for (long victim : new long[] {first, later}) {
      flipBit(copy, victim, 200, 0x01);
    }
    try (VirtualDisk d = VirtualDisk.open(copy, OpenOptions.defaults())) {
      for (int round = 0; round < 3; round++) {
        CountingStream out = new CountingStream();
        assertThatThrownBy(() -> d.readFile("/big", out))
            .isInstanceOf(VdeCorruptedException.class).hasMessageContaining("block " + String.format("%,d", first));
        assertThat(out.count).isEqualTo(PIECE);
      }
    }
  }

  @Test
  void stream_toASlowSink_whoseHelpersRunOutOfPiecesToClaim_givesTheWholeFile() throws Exception {
    try (VirtualDisk d = fresh("stream-slow-sink")) {
      // More pieces than the window holds: helpers find nothing to claim while the sink dawdles, end, and are
      // started again once the caller has written a piece.
      byte[] data = SeededBytes.bytes(14, 3 * FileStreamer.WINDOW * PIECE / 2 + 777);
      d.writeFile("/big", data);
      ByteArrayOutputStream slow = new ByteArrayOutputStream() {
        @Override
        public synchronized void write(byte[] b, int off, int len) {
          // Takes its time before it has consumed the bytes: the buffer must stay as it is meanwhile.
          try {
            Thread.sleep(30);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          super.write(b, off, len);
        }
      };
      assertThat(d.readFile("/big", slow)).isEqualTo(data.length);
      assertThat(slow.toByteArray()).isEqualTo(data);
    }
  }

  @Test
  void slowStream_holdsNoWriterBack_andStreamsTheFileAsItWasWhileItsSpaceIsHeld() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(new PowerLossDevice("slow"), CreateOptions.ofSize(24L << 20)
        .blockSize(BS))) {
      byte[] data = SeededBytes.bytes(12, 3 * PIECE);
      d.writeFile("/big", data);
      java.util.concurrent.CountDownLatch stuck = new java.util.concurrent.CountDownLatch(1);
      java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
      ByteArrayOutputStream sink = new ByteArrayOutputStream() {
        @Override
        public synchronized void write(byte[] b, int off, int len) {
          super.write(b, off, len);
          stuck.countDown();
          try {
            go.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      };
      ExecutorService ex = Executors.newFixedThreadPool(2);
      try {
        Future<Long> stream = ex.submit(() -> d.readFile("/big", sink));
        assertThat(stuck.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(d.volume().readPinCount()).isEqualTo(1);
        // The caller's stream is stuck after the first piece. Writers go on: the file is deleted, its frees
        // checkpointed, and the volume filled until no space is left.
        Future<Integer> writer = ex.submit(() -> {
          d.delete("/big");
          d.checkpoint();
          int files = 0;
          try {
            while (true) {
              d.writeFile("/fill" + files, SeededBytes.bytes(100 + files, 1 << 20));
              files++;
            }
          } catch (dev.vde.VdeNoSpaceException e) {
            assertThat(e).hasMessageContaining("streaming read");
          }
          return files;
        });
        int filled = writer.get(60, java.util.concurrent.TimeUnit.SECONDS);
        // The deleted file's blocks stayed out of reach: the fill got only the space that was free before.
        assertThat((long) filled << 20).isLessThan(data.length);
        go.countDown();
        assertThat(stream.get(60, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(data.length);
        assertThat(sink.toByteArray()).isEqualTo(data);
        assertThat(d.volume().readPinCount()).isZero();
        // Once the stream ended, the space it held is reusable.
        d.writeFile("/after", SeededBytes.bytes(99, 1 << 20));
        assertThat(d.readFile("/fill0")).isEqualTo(SeededBytes.bytes(100, 1 << 20));
        dev.vde.testing.TestVolumes.assertClean(d.verify(dev.vde.Progress.NONE), "after the slow stream");
      } finally {
        go.countDown();
        ex.shutdownNow();
      }
    }
  }

  @Test
  void anErrorInAHelperWhileItClaimsAPiece_isThrownInThatPiecesTurn_insteadOfLeavingTheCallerWaiting()
      throws Exception {
    assumeThat(FileStreamer.HELPER_COUNT).as("helper threads (more than one core)").isPositive();
    try (VirtualDisk d = fresh("stream-claim-error")) {
      byte[] data = SeededBytes.bytes(30, 3 * PIECE);
      d.writeFile("/big", data);
      long owner = d.stat("/big").inode();
      List<Extent> real = d.volume().readInode(owner).extents();
      // A helper cuts its next piece while it claims it (and took its buffer there): an Error at that point, such
      // as the heap running out, left the piece claimed and never finished, and the caller waited for it forever.
      OutOfMemoryError injected = new OutOfMemoryError("injected: while a helper claims a piece");
      CountDownLatch thrown = new CountDownLatch(1);
      List<Extent> xs = new AbstractList<>() {
        @Override
        public Extent get(int i) {
          if (Thread.currentThread().getName().equals("vde-stream") && thrown.getCount() > 0) {
            thrown.countDown();
            throw injected;
          }
          return real.get(i);
        }

        @Override
        public int size() {
          return real.size();
        }
      };
      ByteArrayOutputStream out = new ByteArrayOutputStream() {
        @Override
        public synchronized void write(byte[] b, int off, int len) {
          // The caller's first piece waits here until a helper has claimed one.
          try {
            thrown.await(10, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          super.write(b, off, len);
        }
      };
      ExecutorService caller = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "stream-caller");
        t.setDaemon(true);
        return t;
      });
      try {
        Future<Long> stream = caller.submit(() -> FileStreamer.stream(d.volume(), owner, xs, data.length, out));
        assertThatThrownBy(() -> stream.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
            .cause().isSameAs(injected);
        assertThat(thrown.getCount()).isZero();
        // Whole pieces before the failed one, as they are in the file.
        byte[] got = out.toByteArray();
        assertThat(got.length % PIECE).isZero();
        assertThat(got).isEqualTo(Arrays.copyOf(data, got.length));
      } finally {
        caller.shutdownNow();
      }
      assertThat(streamed(d, "/big")).isEqualTo(data);
      assertThat(FileStreamer.buffersOut()).isZero();
    }
  }

  @Test
  void aStreamThatFails_givesItsPieceBuffersBack() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("stream-buffers-back");
    long victim;
    byte[] big = SeededBytes.bytes(31, 3 * PIECE);
    byte[] one = SeededBytes.bytes(32, 3 * PIECE / 4);
    try (VirtualDisk d = fresh(dev)) {
      d.writeFile("/big", big);
      d.writeFile("/one", one);
      d.writeFile("/damaged", SeededBytes.bytes(33, 3 * PIECE));
      victim = deviceBlock(d, "/damaged", 1L * FileStreamer.PIECE_BYTES / BS + 9);
    }
    PowerLossDevice copy = PowerLossDevice.fromImage("buffers-back", dev.snapshot());
    flipBit(copy, victim, 50, 0x08);
    try (VirtualDisk d = VirtualDisk.open(copy, OpenOptions.defaults())) {
      assertThat(streamed(d, "/big")).isEqualTo(big);
      assertThat(FileStreamer.buffersOut()).isZero();
      // A failed stream kept the buffers it had taken from the pool, so every later stream paid for fresh ones.
      OutputStream refusing = new OutputStream() {
        @Override
        public void write(int b) throws IOException {
          throw new IOException("refused");
        }
      };
      OutputStream interrupting = new OutputStream() {
        @Override
        public void write(int b) {}

        @Override
        public void write(byte[] b, int off, int len) {
          Thread.currentThread().interrupt();
        }
      };
      assertThatThrownBy(() -> d.readFile("/damaged", new ByteArrayOutputStream()))
          .isInstanceOf(VdeCorruptedException.class);
      assertThat(FileStreamer.buffersOut()).as("after a damaged block").isZero();
      assertThatThrownBy(() -> d.readFile("/big", refusing)).hasMessage("refused");
      assertThat(FileStreamer.buffersOut()).as("after a sink that throws").isZero();
      assertThatThrownBy(() -> d.readFile("/one", refusing)).hasMessage("refused");
      assertThat(FileStreamer.buffersOut()).as("after a one-piece stream's sink threw").isZero();
      try {
        assertThatThrownBy(() -> d.readFile("/big", interrupting)).isInstanceOf(java.io.InterruptedIOException.class);
      } finally {
        assertThat(Thread.interrupted()).isTrue();
      }
      assertThat(FileStreamer.buffersOut()).as("after an interrupt").isZero();
      assertThat(streamed(d, "/big")).isEqualTo(big);
      assertThat(streamed(d, "/one")).isEqualTo(one);
      assertThat(FileStreamer.buffersOut()).isZero();
    }
  }

  @Test
  void aVolumeClosedWhileAStreamWaitsOnItsSink_endsTheStreamWithTheVolumesError(@TempDir Path dir) throws Exception {
    VirtualDisk d = VirtualDisk.create(dir.resolve("v.vde"), CreateOptions.ofSize(64L << 20).blockSize(BS));
    try {
      // More pieces than the window holds, so that some are read after the close.
      byte[] data = SeededBytes.bytes(34, (FileStreamer.WINDOW + 3) * PIECE);
      d.writeFile("/big", data);
      CountDownLatch stuck = new CountDownLatch(1);
      CountDownLatch closed = new CountDownLatch(1);
      ByteArrayOutputStream sink = new ByteArrayOutputStream() {
        @Override
        public synchronized void write(byte[] b, int off, int len) {
          super.write(b, off, len);
          stuck.countDown();
          try {
            closed.await(30, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      };
      ExecutorService ex = Executors.newSingleThreadExecutor();
      try {
        Future<Long> stream = ex.submit(() -> d.readFile("/big", sink));
        assertThat(stuck.await(10, TimeUnit.SECONDS)).isTrue();
        d.close();
        closed.countDown();
        assertThatThrownBy(() -> stream.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
            .cause().isInstanceOf(dev.vde.VdeException.class).hasMessageContaining("closed");
        // Whole pieces, as they are in the file, and nothing after them.
        byte[] got = sink.toByteArray();
        assertThat(got.length % PIECE).isZero();
        assertThat(got.length).isLessThan(data.length);
        assertThat(got).isEqualTo(Arrays.copyOf(data, got.length));
        assertThat(FileStreamer.buffersOut()).isZero();
      } finally {
        closed.countDown();
        ex.shutdownNow();
      }
    } finally {
      d.close();
    }
    try (VirtualDisk again = VirtualDisk.open(dir.resolve("v.vde"))) {
      assertThat(streamed(again, "/big")).isEqualTo(SeededBytes.bytes(34, (FileStreamer.WINDOW + 3) * PIECE));
    }
  }

  /** Damages block {@code block} of {@code dev}: flips the bits {@code mask} of its byte {@code offset}. */
  private static void flipBit(PowerLossDevice dev, long block, int offset, int mask) throws IOException {
    byte[] b = new byte[BS];
    dev.read(block * BS, ByteBuffer.wrap(b));
    b[offset] ^= (byte) mask;
    dev.write(block * BS, ByteBuffer.wrap(b));
  }

  private static VirtualDisk fresh(PowerLossDevice dev) throws IOException {
    return VirtualDisk.create(dev, CreateOptions.ofSize(64L << 20).blockSize(BS));
  }

  private static VirtualDisk fresh(String name) throws IOException {
    return fresh(new PowerLossDevice(name));
  }

  /** The file as {@code readFile(path, OutputStream)} streams it. */
  private static byte[] streamed(VirtualDisk d, String path) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    d.readFile(path, out);
    return out.toByteArray();
  }

  /** Counts what is written. */
  private static final class CountingStream extends OutputStream {
    long count;

    @Override
    public void write(int b) throws IOException {
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      count += len;
    }
  }
}
