package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeException;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.VdeNotFoundException;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code writeFile(path, InputStream)} with a stream longer than its buffer stages the content in reserved blocks
 * without holding the writer lock: other writers go on while the stream stalls, and what they do to the same path
 * meanwhile (delete, replace, rename) ends in a defined state, the verifier clean and no space lost. Each test
 * stalls the stream in the caller's code at a known point, so none depends on timing.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class StreamedWriteTest {
  private static final int BS = 512;
  /** Past writeFile(InputStream)'s buffer (1024 blocks of payload), so the content is staged. */
  private static final int STAGED = 1024 * (BS - 16) * 2 + 777;

  private final ExecutorService pool = Executors.newSingleThreadExecutor();

  @AfterEach
  void stopPool() {
    pool.shutdownNow();
  }

  @Test
  void aStalledStream_holdsBackNoOtherWriter_andReadersSeeTheOldContentUntilItEnds() throws Exception {
    try (VirtualDisk d = fresh("stall")) {
      byte[] old = SeededBytes.bytes(1, 5000);
      d.writeFile("/f", old);
      byte[] content = SeededBytes.bytes(2, STAGED);
      GatedStream in = new GatedStream(content, content.length - 1000);
      Future<Long> w = pool.submit(() -> d.writeFile("/f", in));
      in.awaitStall();
      // Each of these needs the writer lock; with the stream read under it, they would wait for the release.
      Future<?> others = Executors.newSingleThreadExecutor().submit(() -> {
        d.writeFile("/other", SeededBytes.bytes(3, 3000));
        d.mkdir("/dir");
        d.append("/other", SeededBytes.bytes(4, 10));
        d.delete("/dir");
        return null;
      });
      others.get(20, TimeUnit.SECONDS);
      assertThat(d.readFile("/f")).isEqualTo(old);
      in.release();
      assertThat(w.get(20, TimeUnit.SECONDS)).isEqualTo(content.length);
      assertThat(d.readFile("/f")).isEqualTo(content);
      assertThat(d.readFile("/other")).hasSize(3010);
      TestVolumes.assertClean(d.verify(Progress.NONE), "after a stalled streamed write");
    }
  }

  @Test
  void aStreamThatFails_changesNothing_andReturnsEveryBlockItReserved() throws Exception {
    try (VirtualDisk d = fresh("fail")) {
      byte[] old = SeededBytes.bytes(5, 7000);
      d.writeFile("/f", old);
      long free = d.volume().bitmap().allocatableFree();
      GatedStream in = new GatedStream(SeededBytes.bytes(6, STAGED), STAGED - 10);
      in.failAfterRelease = true;
      Future<Long> w = pool.submit(() -> d.writeFile("/f", in));
      in.awaitStall();
      assertThat(d.volume().bitmap().allocatableFree()).as("blocks reserved while staging").isLessThan(free - 1024);
      in.release();
      assertThatThrownBy(() -> w.get(20, TimeUnit.SECONDS)).hasCauseInstanceOf(IOException.class)
          .hasMessageContaining("the stream broke");
      assertThat(d.readFile("/f")).isEqualTo(old);
      assertThat(d.volume().bitmap().allocatableFree()).isEqualTo(free);
      TestVolumes.assertClean(d.verify(Progress.NONE), "after a failed streamed write");
    }
  }

  @Test
  void aFileDeletedWhileStreaming_isCreatedAgain_andItsInodeNumberWasGivenToNobodyElse() throws Exception {
    try (VirtualDisk d = fresh("deleted")) {
      d.writeFile("/f", SeededBytes.bytes(7, 3000));
      long ino = d.stat("/f").inode();
      byte[] content = SeededBytes.bytes(8, STAGED);
      GatedStream in = new GatedStream(content, content.length / 2);
      Future<Long> w = pool.submit(() -> d.writeFile("/f", in));
      in.awaitStall();
      d.delete("/f");
      // New files would take the freed number first (allocation restarts at the lowest freed one).
      for (int i = 0; i < 5; i++) {
        d.writeFile("/n" + i, SeededBytes.bytes(20 + i, 100));
        assertThat(d.stat("/n" + i).inode()).isNotEqualTo(ino);
      }
      in.release();
      w.get(20, TimeUnit.SECONDS);
      assertThat(d.readFile("/f")).isEqualTo(content);
      assertThat(d.stat("/f").inode()).isEqualTo(ino);
      TestVolumes.assertClean(d.verify(Progress.NONE), "after a delete during a streamed write");
    }
  }

  @Test
  void aFileReplacedWhileStreaming_endsWithTheStreamsContent_theLastToFinish() throws Exception {
    try (VirtualDisk d = fresh("replaced")) {
      byte[] content = SeededBytes.bytes(9, STAGED);
      GatedStream in = new GatedStream(content, content.length / 2);
      Future<Long> w = pool.submit(() -> d.writeFile("/new", in));
      in.awaitStall();
      // The name did not exist when the stream began; another writer creates it meanwhile, deletes it, and
      // creates it again with content of several blocks.
      d.writeFile("/new", SeededBytes.bytes(10, 100));
      d.delete("/new");
      d.writeFile("/new", SeededBytes.bytes(11, 9000));
      in.release();
      w.get(20, TimeUnit.SECONDS);
      assertThat(d.readFile("/new")).isEqualTo(content);
      assertThat(d.list("/")).extracting(DirEntry::name).containsExactly("new");
      // A leaked block of the replaced file (or of the stream) would show here.
      TestVolumes.assertClean(d.verify(Progress.NONE), "after a replace during a streamed write");
    }
  }

  @Test
  void aFileRenamedWhileStreaming_failsTheWrite_andChangesNothing() throws Exception {
    try (VirtualDisk d = fresh("renamed")) {
      byte[] old = SeededBytes.bytes(12, 4000);
      d.writeFile("/f", old);
      long free = d.volume().bitmap().allocatableFree();
      GatedStream in = new GatedStream(SeededBytes.bytes(13, STAGED), STAGED / 2);
      Future<Long> w = pool.submit(() -> d.writeFile("/f", in));
      in.awaitStall();
      d.rename("/f", "/g");
      in.release();
      assertThatThrownBy(() -> w.get(20, TimeUnit.SECONDS)).hasCauseInstanceOf(VdeInvalidArgumentException.class)
          .hasMessageContaining("/f was renamed while its new content was being written; nothing was changed");
      assertThat(d.readFile("/g")).isEqualTo(old);
      assertThatThrownBy(() -> d.readFile("/f")).isInstanceOf(VdeNotFoundException.class);
      assertThat(d.volume().bitmap().allocatableFree()).isEqualTo(free);
      TestVolumes.assertClean(d.verify(Progress.NONE), "after a rename during a streamed write");
    }
  }

  @Test
  void aStreamedFile_survivesReopen_andAStreamToADirectoryIsRefusedBeforeReadingIt() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("reopen");
    byte[] content = SeededBytes.bytes(14, STAGED);
    VirtualDisk d = VirtualDisk.create(dev, options());
    d.mkdir("/dir");
    assertThat(d.writeFile("/f", new GatedStream(content, -1))).isEqualTo(content.length);
    GatedStream untouched = new GatedStream(content, -1);
    assertThatThrownBy(() -> d.writeFile("/dir", untouched))
        .isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("/dir is a directory");
    assertThatThrownBy(() -> d.writeFile("/missing/f", untouched)).isInstanceOf(VdeNotFoundException.class);
    assertThat(untouched.pos).as("bytes read from a stream that was refused").isZero();
    // Only what was synced survives: the streamed file was durable when writeFile returned.
    try (TestVolumes.Volume again = TestVolumes.closeAndVerify(new TestVolumes.Volume(dev, d))) {
      assertThat(again.disk().readFile("/f")).isEqualTo(content);
    }
  }

  @Test
  void aLongStreamInsideABatch_commitsWithTheBatch_andSurvivesReopen() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("batch");
    byte[] content = SeededBytes.bytes(17, STAGED);
    byte[] small = SeededBytes.bytes(18, 700);
    VirtualDisk d = VirtualDisk.create(dev, options());
    d.writeFile("/f", SeededBytes.bytes(19, 3000));
    d.batch(x -> {
      assertThat(x.writeFile("/f", new GatedStream(content, -1))).isEqualTo(content.length);
      x.writeFile("/g", small);
      assertThat(x.readFile("/f")).isEqualTo(content);
    });
    try (TestVolumes.Volume again = TestVolumes.closeAndVerify(new TestVolumes.Volume(dev, d))) {
      assertThat(again.disk().readFile("/f")).isEqualTo(content);
      assertThat(again.disk().readFile("/g")).isEqualTo(small);
    }
  }

  @Test
  void aVolumeClosedWhileStreaming_failsTheWriteCleanly_andReopensWithTheOldFile() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("closed");
    VirtualDisk d = VirtualDisk.create(dev, options());
    byte[] old = SeededBytes.bytes(15, 2000);
    d.writeFile("/f", old);
    GatedStream in = new GatedStream(SeededBytes.bytes(16, STAGED), STAGED - 100);
    Future<Long> w = pool.submit(() -> d.writeFile("/f", in));
    in.awaitStall();
    d.close();
    in.release();
    assertThatThrownBy(() -> w.get(20, TimeUnit.SECONDS)).hasCauseInstanceOf(VdeException.class)
        .hasMessageContaining("closed");
    try (VirtualDisk again = TestVolumes.open(dev.powerLoss(PowerLossDevice.KeepPolicy.NONE))) {
      assertThat(again.readFile("/f")).isEqualTo(old);
      TestVolumes.assertClean(again.verify(Progress.NONE), "after a close during a streamed write");
    }
  }

  @Test
  void aLongStream_keepsNoPerBlockRecord_andANoSpaceErrorNamesTheStreamsHoldingSpace() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(new PowerLossDevice("long"), CreateOptions.ofSize(16L << 20).blockSize(BS))) {
      Volume vol = d.volume();
      byte[] chunk = new byte[FileData.IO_BLOCKS * 4 * vol.payload()];
      try (StreamedWrite w = StreamedWrite.begin(vol, () -> { }, 0)) {
        for (int i = 0; i < 8; i++) {
          w.append(chunk, chunk.length);
        }
        // A synced content needs no checks: memory would otherwise grow with the stream (tens of MiB per GiB).
        assertThat(w.listedChecks()).isZero();
        // What is left is less than another file needs: the error says who holds the space.
        long left = vol.bitmap().allocatableFree();
        assertThatThrownBy(() -> d.writeFile("/big", new byte[(int) ((left + 10) * vol.payload())]))
            .hasMessageContaining("blocks are reserved by writes from streams still being read");
      }
      assertThat(vol.spaceHeldByStreams()).isEmpty();
    }
  }

  private static CreateOptions options() {
    return CreateOptions.ofSize(16L << 20).blockSize(BS);
  }

  private static VirtualDisk fresh(String name) throws IOException {
    return VirtualDisk.create(new PowerLossDevice(name), options());
  }

  /**
   * Yields {@code content}; after the first {@code stallAt} bytes (negative: never) it signals and waits until
   * released, then yields the rest or, with {@link #failAfterRelease}, throws.
   */
  private static final class GatedStream extends InputStream {
    private final byte[] content;
    private final int stallAt;
    private final CountDownLatch stalled = new CountDownLatch(1);
    private final CountDownLatch released = new CountDownLatch(1);
    boolean failAfterRelease;
    private int pos;

    GatedStream(byte[] content, int stallAt) {
      this.content = content;
      this.stallAt = stallAt;
    }

    void awaitStall() throws InterruptedException {
      assertThat(stalled.await(20, TimeUnit.SECONDS)).as("the stream reached its stall point").isTrue();
    }

    void release() {
      released.countDown();
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (pos == stallAt) {
        stalled.countDown();
        try {
          released.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted", e);
        }
        if (failAfterRelease) {
          throw new IOException("the stream broke");
        }
      }
      if (pos >= content.length) {
        return -1;
      }
      int end = stallAt > pos ? Math.min(stallAt, content.length) : content.length;
      int n = Math.min(len, end - pos);
      System.arraycopy(content, pos, b, off, n);
      pos += n;
      return n;
    }
  }

  /** Only the last piece may end inside a block: a piece after it, even a whole-block one, would leave a gap. */
  @Test
  void aPieceAfterOneEndingInsideABlock_isRefused() throws Exception {
    try (VirtualDisk d = VirtualDisk.create(new PowerLossDevice("pieces"), TestVolumes.options(512));
        StreamedWrite w = StreamedWrite.begin(d.volume(), () -> { }, 0)) {
      int payload = d.volume().payload();
      w.append(new byte[payload], payload);
      w.append(new byte[10], 10);
      assertThatThrownBy(() -> w.append(new byte[payload], payload)).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("only the last piece");
      assertThatThrownBy(() -> w.append(new byte[10], 10)).isInstanceOf(IllegalStateException.class);
    }
  }
}
