package dev.vde.testing;

import dev.vde.io.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * An in-memory {@link BlockDevice} that simulates power loss at the granularity of single {@code write()} calls,
 * in the spirit of SQLite's crash VFS and Lucene's MockDirectoryWrapper.
 *
 * <p>The device keeps two images: the <em>durable</em> one (what survives power loss for certain) and the ordered
 * list of <em>pending</em> writes issued since the last {@link #sync()}. Reads see the durable image with every
 * pending write applied, as the {@link BlockDevice} contract requires. {@link #sync()} folds the pending writes into
 * the durable image.
 *
 * <p>Power loss is simulated in two steps:
 *
 * <ol>
 *   <li>{@link #crashAt(long)} arms a cut at a global write index. Write indices count every {@code write()} call
 *       since this device was constructed (not since arming), starting at 0, so {@link #writeCount()} is the index
 *       the next write will get. When the write with the armed index arrives, it is recorded as pending (whether
 *       it reached the medium is left to the keep policy, exactly like any other unsynced write) and then
 *       {@link PowerCutException} is thrown; from then on every read, write, sync, size and truncate throws it too.
 *   <li>{@link #powerLoss(KeepPolicy)} returns a <em>new</em> device whose durable image is this device's durable
 *       image plus the subset of pending writes the policy keeps. This device is left untouched, so several
 *       policies can be tried against the same cut.
 * </ol>
 *
 * <p>Host-file size changes ({@link #truncate(long)}) are recorded in the same ordered list but every policy keeps
 * them: host file systems journal size changes, so only data writes are lost or torn. Policies choose among whole
 * writes, except {@link KeepPolicy#randomBlocks}, which splits multi-block writes into their blocks. The
 * {@code index} of
 * {@link KeepPolicy#torn} and the {@code n} of {@link KeepPolicy#prefix} count pending <em>writes</em> only.
 *
 * <p>Storage is sparse: 64 KiB pages in a {@link TreeMap}, so a 64 MiB volume costs only what is written.
 * Methods are synchronized so an engine with background threads sees a consistent device.
 */
public final class PowerLossDevice implements BlockDevice {
  /** Size of one storage page. */
  public static final int PAGE_SIZE = 64 * 1024;

  /** Thrown by every operation once the armed cut has been reached: the power is off. */
  public static final class PowerCutException extends IOException {
    private static final long serialVersionUID = 1L;

    PowerCutException(String message) {
      super(message);
    }
  }

  /**
   * Which pending (unsynced) writes reach the medium when power fails. Every random choice is derived from the
   * seed the policy carries, and {@link #toString()} prints it, so a failing case can be replayed.
   */
  public sealed interface KeepPolicy {
    /** Every unsynced write is lost. */
    KeepPolicy NONE = new None();
    /** Every unsynced write reached the medium. */
    KeepPolicy ALL = new All();

    static KeepPolicy randomSubset(long seed) {
      return new RandomSubset(seed);
    }

    static KeepPolicy randomBlocks(int unit, long seed) {
      return new RandomBlocks(unit, seed);
    }

    static KeepPolicy loseOne(int unit, int piece) {
      return new LoseOne(unit, piece);
    }

    static KeepPolicy prefix(int n) {
      return new Prefix(n);
    }

    static KeepPolicy torn(int index, long seed) {
      return new Torn(index, seed);
    }

    /** Lose everything not synced. */
    record None() implements KeepPolicy {
      @Override
      public String toString() {
        return "NONE";
      }
    }

    /** Keep everything. */
    record All() implements KeepPolicy {
      @Override
      public String toString() {
        return "ALL";
      }
    }

    /** Keep each pending write independently with probability 1/2. */
    record RandomSubset(long seed) implements KeepPolicy {
      @Override
      public String toString() {
        return "RANDOM_SUBSET(seed=" + seed + ")";
      }
    }

    /**
     * Split every pending write at {@code unit}-aligned device offsets and keep each piece independently with
     * probability 1/2. A write of many blocks is not atomic on a real disk: its sectors reach the medium in any
     * subset, which is what this models (the {@link dev.vde.io.BlockDevice} contract allows it).
     */
    record RandomBlocks(int unit, long seed) implements KeepPolicy {
      public RandomBlocks {
        if (unit <= 0) {
          throw new IllegalArgumentException("unit must be > 0: " + unit);
        }
      }

      @Override
      public String toString() {
        return "RANDOM_BLOCKS(unit=" + unit + ", seed=" + seed + ")";
      }
    }

    /**
     * Keep every pending write except one {@code unit}-aligned piece: piece {@code piece} of them all, counted in
     * issue order ({@link PowerLossDevice#pendingPieces}). The case random choices rarely make: everything of an
     * unsynced transaction arrived but one block, so whatever that block held before shows through.
     */
    record LoseOne(int unit, int piece) implements KeepPolicy {
      public LoseOne {
        if (unit <= 0 || piece < 0) {
          throw new IllegalArgumentException("unit must be > 0 and piece >= 0: " + unit + ", " + piece);
        }
      }

      @Override
      public String toString() {
        return "LOSE_ONE(unit=" + unit + ", piece=" + piece + ")";
      }
    }

    /** Keep the first {@code n} pending writes (in issue order) and lose the rest. */
    record Prefix(int n) implements KeepPolicy {
      public Prefix {
        if (n < 0) {
          throw new IllegalArgumentException("prefix length must be >= 0: " + n);
        }
      }

      @Override
      public String toString() {
        return "PREFIX(" + n + ")";
      }
    }

    /**
     * Keep a random subset (as {@link RandomSubset} with the same seed) of the other pending writes, and write
     * only the first half ({@code length / 2} bytes) of pending write {@code index}: a torn write. The medium keeps
     * its previous bytes under the second half.
     */
    record Torn(int index, long seed) implements KeepPolicy {
      public Torn {
        if (index < 0) {
          throw new IllegalArgumentException("torn write index must be >= 0: " + index);
        }
      }

      @Override
      public String toString() {
        return "TORN(index=" + index + ", seed=" + seed + ")";
      }
    }
  }

  /** One entry of the pending list: a data write, or a size change (data == null). */
  private record Pending(long pos, byte[] data, long newSize) {
    boolean isWrite() {
      return data != null;
    }
  }

  private final String name;
  private final TreeMap<Long, byte[]> durable;
  private long durableSize;
  private final TreeMap<Long, byte[]> current;
  private long currentSize;
  private final List<Pending> pending = new ArrayList<>();
  private long writeCount;
  private long syncCount;
  private long cutAt = -1;
  private boolean cut;
  private boolean closed;

  /** An empty device of size 0. */
  public PowerLossDevice() {
    this("power-loss device");
  }

  /** An empty device of size 0 whose {@link #describe()} is {@code name}. */
  public PowerLossDevice(String name) {
    this(name, new TreeMap<>(), 0);
  }

  private PowerLossDevice(String name, TreeMap<Long, byte[]> image, long size) {
    this.name = name;
    this.durable = image;
    this.durableSize = size;
    this.current = deepCopy(image);
    this.currentSize = size;
  }

  /** A device whose durable content is {@code image} (copied), with nothing pending. */
  public static PowerLossDevice fromImage(byte[] image) {
    return fromImage("power-loss device", image);
  }

  /** As {@link #fromImage(byte[])}, with a name for error messages. */
  public static PowerLossDevice fromImage(String name, byte[] image) {
    TreeMap<Long, byte[]> pages = new TreeMap<>();
    applyTo(pages, 0, image, 0, image.length);
    return new PowerLossDevice(name, pages, image.length);
  }

  // ------------------------------------------------------------------------------------------------ BlockDevice

  @Override
  public synchronized void read(long pos, ByteBuffer dst) throws IOException {
    checkLive("read");
    if (pos < 0) {
      throw new IOException("negative read position " + pos);
    }
    int n = dst.remaining();
    byte[] tmp = new byte[n];
    readFrom(current, currentSize, pos, tmp);
    dst.put(tmp);
  }

  @Override
  public synchronized void write(long pos, ByteBuffer src) throws IOException {
    checkLive("write");
    if (pos < 0) {
      throw new IOException("negative write position " + pos);
    }
    long index = writeCount++;
    byte[] data = new byte[src.remaining()];
    src.get(data);
    pending.add(new Pending(pos, data, -1));
    if (index == cutAt) {
      // The interrupted write may or may not have reached the medium: it stays pending for the keep policy to
      // decide, but the caller never sees it return, and nothing it does afterwards reaches the device.
      cut = true;
      throw new PowerCutException("power cut at write #" + index + " (" + data.length + " bytes at " + pos + ")");
    }
    applyTo(current, pos, data, 0, data.length);
    currentSize = Math.max(currentSize, pos + data.length);
  }

  @Override
  public synchronized void sync() throws IOException {
    checkLive("sync");
    for (Pending p : pending) {
      durableSize = apply(durable, durableSize, p, p.isWrite() ? p.data().length : 0);
    }
    pending.clear();
    syncCount++;
  }

  /**
   * The host failed to write the pending writes back, as a failing disk makes it: they never reach the medium and
   * no later sync makes them durable, while reads still see them (the host's page cache keeps the pages). A host
   * that drops such pages reports the failure to one sync only, so the next sync succeeds. Size changes are kept,
   * as every keep policy keeps them.
   */
  public synchronized void loseUnsynced() throws IOException {
    checkLive("sync");
    for (Pending p : pending) {
      if (!p.isWrite()) {
        durableSize = apply(durable, durableSize, p, 0);
      }
    }
    pending.clear();
  }

  @Override
  public synchronized long size() throws IOException {
    checkLive("size");
    return currentSize;
  }

  @Override
  public synchronized void truncate(long size) throws IOException {
    checkLive("truncate");
    if (size < 0) {
      throw new IOException("negative size " + size);
    }
    pending.add(new Pending(-1, null, size));
    currentSize = resize(current, currentSize, size);
  }

  @Override
  public String describe() {
    return name;
  }

  @Override
  public synchronized void close() {
    closed = true;
  }

  // ---------------------------------------------------------------------------------------- power-loss control

  /**
   * Arms a power cut at global write index {@code writeIndex} (0-based, counted from this device's construction;
   * see the class comment). Must not be below {@link #writeCount()}, since those writes have already happened.
   */
  public synchronized void crashAt(long writeIndex) {
    if (writeIndex < writeCount) {
      throw new IllegalStateException("write #" + writeIndex + " has already happened (writeCount=" + writeCount + ")");
    }
    cutAt = writeIndex;
  }

  /** True once the armed cut was reached. */
  public synchronized boolean isCut() {
    return cut;
  }

  /**
   * A new device holding this device's durable image plus the pending writes {@code policy} keeps, applied in
   * issue order, all of them durable; its counters start at zero and nothing is armed. This device is unchanged.
   */
  public synchronized PowerLossDevice powerLoss(KeepPolicy policy) {
    int writes = pendingWriteCount();
    boolean[] keep = new boolean[writes];
    int tornIndex = -1;
    if (policy instanceof KeepPolicy.None) {
      // keep nothing
    } else if (policy instanceof KeepPolicy.All) {
      Arrays.fill(keep, true);
    } else if (policy instanceof KeepPolicy.RandomSubset r) {
      randomChoice(keep, r.seed());
    } else if (policy instanceof KeepPolicy.RandomBlocks rb) {
      return keepRandomBlocks(rb);
    } else if (policy instanceof KeepPolicy.LoseOne lo) {
      return keepAllPiecesBut(lo);
    } else if (policy instanceof KeepPolicy.Prefix p) {
      if (p.n() > writes) {
        throw new IllegalArgumentException("prefix " + p.n() + " exceeds the " + writes + " pending writes");
      }
      Arrays.fill(keep, 0, p.n(), true);
    } else if (policy instanceof KeepPolicy.Torn t) {
      if (t.index() >= writes) {
        throw new IllegalArgumentException("torn index " + t.index() + " but only " + writes + " pending writes");
      }
      randomChoice(keep, t.seed());
      tornIndex = t.index();
      keep[tornIndex] = true;
    } else {
      throw new IllegalArgumentException("unknown policy " + policy);
    }
    TreeMap<Long, byte[]> image = deepCopy(durable);
    long size = durableSize;
    int w = 0;
    for (Pending p : pending) {
      if (!p.isWrite()) {
        size = apply(image, size, p, 0);
        continue;
      }
      if (keep[w]) {
        int len = w == tornIndex ? p.data().length / 2 : p.data().length;
        size = apply(image, size, p, len);
      }
      w++;
    }
    return new PowerLossDevice(name, image, size);
  }

  private PowerLossDevice keepRandomBlocks(KeepPolicy.RandomBlocks rb) {
    SplittableRandom rnd = new SplittableRandom(rb.seed());
    return keepPieces(rb.unit(), index -> rnd.nextBoolean());
  }

  /**
   * A device with the pending writes split at {@code unit}-aligned offsets and each piece kept when {@code keep}
   * says so, asked in issue order with the piece's index among all pieces.
   */
  private PowerLossDevice keepPieces(int unit, java.util.function.IntPredicate keep) {
    TreeMap<Long, byte[]> image = deepCopy(durable);
    long size = durableSize;
    int index = 0;
    for (Pending p : pending) {
      if (!p.isWrite()) {
        size = apply(image, size, p, 0);
        continue;
      }
      boolean any = false;
      for (int off = 0; off < p.data().length; index++) {
        int n = pieceLength(p, off, unit);
        if (keep.test(index)) {
          applyTo(image, p.pos() + off, p.data(), off, n);
          any = true;
        }
        off += n;
      }
      if (any) {
        // As for a torn write: a write that partly landed extends the file to its full end.
        size = Math.max(size, p.pos() + p.data().length);
      }
    }
    return new PowerLossDevice(name, image, size);
  }

  /** How many {@code unit}-aligned pieces the pending writes make (what {@link KeepPolicy.LoseOne} counts). */
  public synchronized int pendingPieces(int unit) {
    int count = 0;
    for (Pending p : pending) {
      if (p.isWrite()) {
        for (int off = 0; off < p.data().length; count++) {
          off += pieceLength(p, off, unit);
        }
      }
    }
    return count;
  }

  /** Length of the piece of pending write {@code p} that starts at {@code off}: up to the next unit boundary. */
  private static int pieceLength(Pending p, int off, int unit) {
    long at = p.pos() + off;
    return (int) Math.min(p.data().length - off, unit - Math.floorMod(at, (long) unit));
  }

  private PowerLossDevice keepAllPiecesBut(KeepPolicy.LoseOne lo) {
    if (lo.piece() >= pendingPieces(lo.unit())) {
      throw new IllegalArgumentException("piece " + lo.piece() + " but only " + pendingPieces(lo.unit())
          + " pending pieces of " + lo.unit() + " bytes");
    }
    return keepPieces(lo.unit(), index -> index != lo.piece());
  }

  /** Number of {@code write()} calls so far, including an interrupted one; also the index the next write gets. */
  public synchronized long writeCount() {
    return writeCount;
  }

  /** Number of completed {@code sync()} calls. */
  public synchronized long syncCount() {
    return syncCount;
  }

  /** Number of writes since the last sync (the ones a power loss may lose), including an interrupted one. */
  public synchronized int pendingWriteCount() {
    int n = 0;
    for (Pending p : pending) {
      if (p.isWrite()) {
        n++;
      }
    }
    return n;
  }

  /** The bytes a read would see now: durable image plus every pending write. Works after a cut. */
  public synchronized byte[] snapshot() {
    return image(current, currentSize);
  }

  /** The durable image only, as it would survive {@link KeepPolicy#NONE}. Works after a cut. */
  public synchronized byte[] durableSnapshot() {
    return image(durable, durableSize);
  }

  /** Pages currently allocated for the read view; lets tests check that storage stays sparse. */
  public synchronized int allocatedPages() {
    return current.size();
  }

  @Override
  public String toString() {
    return name + "[writes=" + writeCount + ", syncs=" + syncCount + ", pending=" + pendingWriteCount()
        + (cut ? ", CUT at #" + cutAt : cutAt >= 0 ? ", armed at #" + cutAt : "") + "]";
  }

  // ------------------------------------------------------------------------------------------------ internals

  private void checkLive(String op) throws IOException {
    if (cut) {
      throw new PowerCutException(op + " after the power cut at write #" + cutAt);
    }
    if (closed) {
      throw new IOException(op + " on closed device " + name);
    }
  }

  private static void randomChoice(boolean[] keep, long seed) {
    // SplittableRandom mixes its seed, so consecutive seeds (as the crash sweeps use) give unrelated subsets;
    // java.util.Random's first draws for seeds 0, 1, 2, ... are strongly correlated.
    SplittableRandom rnd = new SplittableRandom(seed);
    for (int i = 0; i < keep.length; i++) {
      keep[i] = rnd.nextBoolean();
    }
  }

  /** Applies one pending entry (a write cut to {@code len} bytes, or a size change); returns the new size. */
  private static long apply(TreeMap<Long, byte[]> pages, long size, Pending p, int len) {
    if (!p.isWrite()) {
      return resize(pages, size, p.newSize());
    }
    applyTo(pages, p.pos(), p.data(), 0, len);
    // A torn write still extends the file to its full end: the size is file-system metadata, and the unwritten
    // tail reads as zero like any hole.
    return Math.max(size, p.pos() + p.data().length);
  }

  private static void applyTo(TreeMap<Long, byte[]> pages, long pos, byte[] data, int off, int len) {
    int done = 0;
    while (done < len) {
      long at = pos + done;
      long pageNo = at / PAGE_SIZE;
      int inPage = (int) (at % PAGE_SIZE);
      int n = Math.min(len - done, PAGE_SIZE - inPage);
      byte[] page = pages.computeIfAbsent(pageNo, k -> new byte[PAGE_SIZE]);
      System.arraycopy(data, off + done, page, inPage, n);
      done += n;
    }
  }

  private static void readFrom(TreeMap<Long, byte[]> pages, long size, long pos, byte[] dst) {
    int done = 0;
    while (done < dst.length) {
      long at = pos + done;
      long pageNo = at / PAGE_SIZE;
      int inPage = (int) (at % PAGE_SIZE);
      int n = Math.min(dst.length - done, PAGE_SIZE - inPage);
      byte[] page = pages.get(pageNo);
      if (page == null || at >= size) {
        Arrays.fill(dst, done, done + n, (byte) 0);
      } else {
        int valid = (int) Math.min(n, size - at);
        System.arraycopy(page, inPage, dst, done, valid);
        Arrays.fill(dst, done + valid, done + n, (byte) 0);
      }
      done += n;
    }
  }

  /** Changes the size; bytes past a shrunk end are dropped so that growing again shows zeros. */
  private static long resize(TreeMap<Long, byte[]> pages, long size, long newSize) {
    if (newSize < size) {
      long firstDropped = (newSize + PAGE_SIZE - 1) / PAGE_SIZE;
      pages.tailMap(firstDropped, true).clear();
      byte[] last = pages.get(newSize / PAGE_SIZE);
      if (last != null) {
        Arrays.fill(last, (int) (newSize % PAGE_SIZE), PAGE_SIZE, (byte) 0);
      }
    }
    return newSize;
  }

  private static byte[] image(TreeMap<Long, byte[]> pages, long size) {
    if (size > Integer.MAX_VALUE - 8) {
      throw new IllegalStateException("device of " + size + " bytes is too large to snapshot");
    }
    byte[] out = new byte[(int) size];
    readFrom(pages, size, 0, out);
    return out;
  }

  private static TreeMap<Long, byte[]> deepCopy(TreeMap<Long, byte[]> pages) {
    TreeMap<Long, byte[]> copy = new TreeMap<>();
    for (Map.Entry<Long, byte[]> e : pages.entrySet()) {
      copy.put(e.getKey(), e.getValue().clone());
    }
    return copy;
  }
}
