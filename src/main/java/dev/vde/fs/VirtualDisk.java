package dev.vde.fs;

import dev.vde.Progress;
import dev.vde.VdeCorruptedException;
import dev.vde.VdeDirectoryNotEmptyException;
import dev.vde.VdeException;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.VdeNoSpaceException;
import dev.vde.VdeNotFoundException;
import dev.vde.check.Verifier;
import dev.vde.check.VerifyReport;
import dev.vde.format.Bytes;
import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import dev.vde.format.Superblock;
import dev.vde.inode.Extent;
import dev.vde.inode.ExtentMap;
import dev.vde.inode.Inode;
import dev.vde.io.BlockDevice;
import dev.vde.io.FileBlockDevice;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An open vde volume: files and directories by absolute path ({@code /a/b/c}) inside one host file.
 *
 * <p>Every mutating call is atomic and durable when it returns (unless a {@linkplain #setCommitWindow commit
 * window} is set: then it is atomic and visible at once, and durable within the window): its metadata goes through
 * the WAL, its file data is written to new blocks before the transaction that maps them commits. Concurrent callers
 * share syncs (group commit); {@link #batch} runs many operations with one sync. Reads run concurrently with each
 * other and with a writer; writers are serialized, but neither {@link #writeFile(String, InputStream)} nor
 * {@link #readFile(String, OutputStream)} holds anyone back while it waits for its stream, however slow.
 *
 * <p><b>Failures.</b> Every failure is a {@link dev.vde.VdeException} (an {@link IOException}) with a message
 * that names the path or block concerned; {@code NullPointerException} or {@code IllegalArgumentException} mean
 * a call that breaks its documented contract. An operation refused with an exception did not take effect
 * ({@link #batch} keeps the operations that completed before the failure). An I/O error of the host file stops
 * the volume instead: every later call fails, and recovery at the next open decides what the last operations
 * left. An interrupt does not abort an operation that has committed: it returns normally once durable, with the
 * thread's interrupt status still set.
 *
 * <p><b>Locking the host file.</b> The host file is locked while open, so a second open, in this process or
 * another (through any name of the file, hard links included), fails with {@link dev.vde.VdeLockedException}.
 * The lock is the host's POSIX record lock, which belongs to the process: if other code in the same process
 * opens and closes the host file itself ({@code Files.copy} of the image as a backup, say), the host drops the
 * lock, and another process could then open the volume too. Copy an open volume with
 * {@link dev.vde.module.copy.ExtentAwareCopy} instead, or copy the file after {@link #close}.
 */
public final class VirtualDisk implements AutoCloseable {
  private final Volume vol;
  private final Path path;
  private volatile boolean closed;
  private final ThreadLocal<long[]> batchTicket = new ThreadLocal<>();
  /**
   * Set while this thread runs the work of a transaction (a {@link FieldUpdate}, a {@link FormatWork}). A change
   * made from inside it would commit a second transaction in the middle of the first, which then writes back what
   * it read before: the inner change lost, its freed blocks still mapped. {@link #mutate} refuses it.
   */
  private final ThreadLocal<Boolean> inTransaction = new ThreadLocal<>();
  /** See {@link #setCommitWindow}; 0: every operation durable when it returns. */
  private volatile long commitWindowNanos;
  private final CommitFlusher flusher;

  private VirtualDisk(Volume vol, Path path) {
    this.vol = vol;
    this.path = path;
    this.flusher = new CommitFlusher(vol.journal(), path == null ? vol.resource() : path.getFileName().toString());
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Creates a new volume in a new host file (which must not exist); the file is sparse.
   *
   * @throws VdeInvalidArgumentException for options that make no valid volume, an existing file or a missing
   *     parent directory; nothing is left behind
   */
  public static VirtualDisk create(Path path, CreateOptions options) throws IOException {
    java.util.Objects.requireNonNull(path, "path");
    Volume.plan(java.util.Objects.requireNonNull(options, "options"));
    FileBlockDevice dev;
    try {
      dev = FileBlockDevice.create(path);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      throw new VdeInvalidArgumentException("cannot create " + path + ": file already exists");
    } catch (java.nio.file.NoSuchFileException e) {
      throw new VdeInvalidArgumentException("cannot create " + path + ": parent directory does not exist");
    }
    try {
      return new VirtualDisk(Volume.create(dev, options), path);
    } catch (IOException | RuntimeException | Error e) {
      // An Error too (a heap too small for a large volume's bitmap): the host file stays locked in this process
      // until its device is closed, so a later create or open of the same path would be refused for good.
      dev.close();
      Files.deleteIfExists(path);
      throw e;
    }
  }

  /** Creates a new volume on an empty device (tests use a power-loss simulating one). */
  public static VirtualDisk create(BlockDevice device, CreateOptions options) throws IOException {
    java.util.Objects.requireNonNull(device, "device");
    java.util.Objects.requireNonNull(options, "options");
    return new VirtualDisk(Volume.create(device, options), null);
  }

  /** Opens a volume for reading and writing when it can be written: {@link #open(Path, OpenOptions)}. */
  public static VirtualDisk open(Path path) throws IOException {
    return open(path, OpenOptions.defaults());
  }

  /**
   * Opens the volume in {@code path}, running recovery first if it was not closed cleanly. It opens read-only,
   * with {@link #readOnlyReason} saying why, when asked to, when the host file is not writable, when the volume
   * uses features this engine can read but not keep up to date, or when recovery found damaged acknowledged
   * transactions; check {@link #isReadOnly} if writing matters.
   *
   * @throws dev.vde.VdeNotFoundException if there is no such file
   * @throws dev.vde.VdeLockedException if the volume is open already, in this process or another
   * @throws dev.vde.VdeCorruptedException if it is not a volume, is damaged beyond opening, or is an unfinished copy
   * @throws dev.vde.VdeFormatTooNewException if it uses a format version or feature this engine does not know
   */
  public static VirtualDisk open(Path path, OpenOptions options) throws IOException {
    java.util.Objects.requireNonNull(path, "path");
    java.util.Objects.requireNonNull(options, "options");
    if (!Files.exists(path)) {
      throw new VdeNotFoundException("no such file", path.toString());
    }
    if (Files.isDirectory(path)) {
      throw new VdeInvalidArgumentException(path + " is a directory, not a vde image");
    }
    if (options.readOnly() && options.requireWritable()) {
      throw new VdeInvalidArgumentException("an open cannot be both read-only and require a writable volume");
    }
    boolean deviceReadOnly = !options.readOnly() && !Files.isWritable(path);
    if (deviceReadOnly && options.requireWritable()) {
      throw new dev.vde.VdeReadOnlyException("host file is not writable", path.toString());
    }
    FileBlockDevice dev = FileBlockDevice.open(path, options.readOnly() || deviceReadOnly);
    try {
      return writableIfRequired(new VirtualDisk(Volume.open(dev, options.readOnly(), deviceReadOnly), path),
          options);
    } catch (IOException | RuntimeException | Error e) {
      // A refused open must not keep the host file locked, whatever refused it (see create).
      dev.close();
      throw e;
    }
  }

  public static VirtualDisk open(BlockDevice device, OpenOptions options) throws IOException {
    java.util.Objects.requireNonNull(device, "device");
    java.util.Objects.requireNonNull(options, "options");
    return writableIfRequired(new VirtualDisk(Volume.open(device, options.readOnly(), false), null), options);
  }

  /** {@code d}, or, when {@code options} require a writable volume and it is not, closed and refused. */
  private static VirtualDisk writableIfRequired(VirtualDisk d, OpenOptions options) throws IOException {
    if (options.requireWritable() && d.isReadOnly()) {
      String why = d.readOnlyReason();
      d.close();
      throw new dev.vde.VdeReadOnlyException("volume cannot be opened writable: " + why, d.vol.resource());
    }
    return d;
  }

  /**
   * Makes everything durable, checkpoints the WAL and releases the host file. The host file is released even when
   * this throws; it throws, among other cases, when the volume had stopped after an I/O error with operations that
   * returned under the {@linkplain #setCommitWindow commit window} never made durable. Called inside
   * {@link #batch}, it makes the batch's operations so far durable with the rest; later ones fail as closed.
   */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    if (inTransaction.get() != null) {
      // The transaction this callback runs in would go on against a closed device and journal.
      throw new VdeInvalidArgumentException("a FieldUpdate or FormatWork must not close the volume: it runs inside "
          + "the transaction that applies it; close it after that call");
    }
    vol.checkMayWaitForWriters();
    // What the flusher had not written yet stays queued; the closing checkpoint makes it durable.
    flusher.stop();
    vol.writerLock().lock();
    try {
      closed = true;
      if (batchTicket.get() != null) {
        // Called inside batch(): the batch's operations so far returned, and are held back for its end, which
        // would find the device closed. Close promises them durable too: the batch ends here.
        vol.journal().release();
      }
      vol.close();
    } finally {
      vol.writerLock().unlock();
    }
    // A background flush that failed told nobody: the operations it lost returned normally.
    flusher.checkNothingLost();
  }

  /** The host file, or null for a volume on another device. */
  public Path path() {
    return path;
  }

  /** The engine internals, for the verifier, the module tools and tests. */
  public Volume volume() {
    return vol;
  }

  /** Whether the volume refuses writes ({@link #readOnlyReason} says why). */
  public boolean isReadOnly() {
    return vol.readOnlyReason() != null;
  }

  /** Why the volume is read-only, or null. */
  public String readOnlyReason() {
    return vol.readOnlyReason();
  }

  /** Forces a WAL checkpoint (everything committed goes in place; freed blocks become reusable). */
  public void checkpoint() throws IOException {
    checkOpen();
    vol.checkWritable();
    vol.lockWriter();
    try {
      vol.journal().checkpoint();
    } finally {
      vol.writerLock().unlock();
    }
  }

  private void checkOpen() throws VdeException {
    if (closed) {
      throw new VdeException("volume is closed", path == null ? null : path.toString(), null);
    }
  }

  // ---------------------------------------------------------------- transactions

  /** Work inside one metadata transaction. */
  @FunctionalInterface
  interface TxnWork<T> {
    T run(Txn t) throws IOException;
  }

  /** Runs {@code work} in a transaction under the writer lock, commits, then waits for durability. */
  <T> T mutate(TxnWork<T> work) throws IOException {
    return mutate(work, false);
  }

  /** {@link #mutate}; with {@code durable}, waits for the transaction's durability even under a commit window. */
  private <T> T mutate(TxnWork<T> work, boolean durable) throws IOException {
    checkOpen();
    if (inTransaction.get() != null) {
      throw new VdeInvalidArgumentException("a FieldUpdate or FormatWork must not change the volume: it runs inside "
          + "the transaction that applies it; make the change before or after that call");
    }
    long ticket;
    T result;
    vol.lockWriter();
    try {
      Txn t = vol.begin();
      t.held = batchTicket.get() != null;
      try {
        inTransaction.set(Boolean.TRUE);
        try {
          result = work.run(t);
        } finally {
          inTransaction.remove();
        }
        ticket = vol.commit(t);
      } catch (IOException | RuntimeException | Error e) {
        // An Error too (an assertion in a FormatWork, say): its reservations would stay taken until a reopen.
        vol.abort(t);
        throw e;
      }
    } finally {
      vol.writerLock().unlock();
    }
    long[] batch = batchTicket.get();
    if (batch != null) {
      batch[0] = Math.max(batch[0], ticket);
    } else if (ticket > 0) {
      long window = commitWindowNanos;
      if (window == 0 || durable) {
        vol.journal().awaitDurable(ticket);
      } else {
        flusher.committed(ticket, window);
      }
    }
    return result;
  }

  /**
   * How long an operation may stay not yet durable after it returns. {@link Duration#ZERO}, the default: every
   * operation is durable when it returns. A positive window: an operation returns once it is published (atomic,
   * visible to every reader, in commit order) and becomes durable with a group commit at most about
   * {@code window} later, led by a background thread, or earlier through {@link #sync}, {@link #close} or when
   * {@value CommitFlusher#MAX_UNSYNCED} operations wait. A crash then loses at most the operations of the last
   * window, and always the newest ones: what survives is every operation up to some point in commit order. Many
   * writers thus share one sync without batching their work. {@link #batch} is unaffected: it returns durable.
   * The window is at most {@link #MAX_COMMIT_WINDOW}. Changing it never makes an operation that already returned
   * wait longer than the window it returned under; a shorter window (zero included) applies to those too.
   */
  public void setCommitWindow(Duration window) throws VdeInvalidArgumentException {
    if (window == null || window.isNegative()) {
      throw new VdeInvalidArgumentException("commit window must be zero or positive, not " + window);
    }
    if (window.compareTo(MAX_COMMIT_WINDOW) > 0) {
      // Operations would stay unsynced (and lost by a crash) that long; and nanoseconds past ~292 years overflow.
      throw new VdeInvalidArgumentException("commit window " + window + " is longer than the longest allowed, "
          + MAX_COMMIT_WINDOW);
    }
    commitWindowNanos = window.toNanos();
    // Operations already waiting keep the window they returned under, or get this one if it is shorter.
    flusher.windowChanged(commitWindowNanos);
  }

  /** The longest commit window {@link #setCommitWindow} takes. */
  public static final Duration MAX_COMMIT_WINDOW = Duration.ofHours(1);

  /** The commit window set by {@link #setCommitWindow}. */
  public Duration commitWindow() {
    return Duration.ofNanos(commitWindowNanos);
  }

  /**
   * Makes every operation that has returned so far durable (a no-op while the commit window is zero). Inside
   * {@link #batch} it does nothing: the batch's operations are held back until it ends, which makes them durable.
   * Nor does it wait for a batch running in another thread: that batch makes its operations durable when it
   * ends.
   */
  public void sync() throws IOException {
    checkOpen();
    if (batchTicket.get() != null) {
      return;
    }
    // Not lastTicket(): that may be a running batch's, held until the batch ends, so sync() waited for another
    // thread's batch however long it ran; and from inside a read that holds the state still (a Progress of
    // verify) for good, the batch's next publish waiting for that read to end.
    long t = vol.journal().lastUnheldTicket();
    if (t > 0) {
      vol.journal().awaitDurable(t);
    }
  }

  private <T> T inspect(Volume.IoSupplier<T> r) throws IOException {
    checkOpen();
    return vol.withStableState(r);
  }

  /** True while the calling thread runs inside {@link #batch} on this volume. */
  public boolean isInBatch() {
    return batchTicket.get() != null;
  }

  /** Work for {@link #batch}. */
  @FunctionalInterface
  public interface BatchWork {
    void run(VirtualDisk disk) throws IOException;
  }

  /**
   * Runs several operations and makes them durable together with one sync when this returns. Other writers
   * wait meanwhile. The batch's transactions are held back from the WAL until it ends and then written as one
   * WAL transaction, so a crash keeps all of the batch or none of it, as long as its metadata fits in the WAL
   * (see {@link CreateOptions#walBlocks}); a larger batch is written in several WAL transactions, split between
   * operations, and a crash before this returns may then keep a prefix of whole operations. If {@code work}
   * throws, the operations that completed before it stay done (and are made durable) and the exception
   * propagates.
   */
  public void batch(BatchWork work) throws IOException {
    java.util.Objects.requireNonNull(work, "work");
    checkOpen();
    if (batchTicket.get() != null) {
      work.run(this);
      return;
    }
    long[] holder = {0};
    vol.lockWriter();
    try {
      batchTicket.set(holder);
      work.run(this);
    } finally {
      batchTicket.remove();
      vol.journal().release();
      vol.writerLock().unlock();
      if (holder[0] > 0) {
        vol.journal().awaitDurable(holder[0]);
      }
    }
  }

  // ---------------------------------------------------------------- paths

  /** Splits and checks an absolute path; "/" gives an empty list. */
  static List<String> parse(String p) throws VdeInvalidArgumentException {
    if (p == null || p.isEmpty() || p.charAt(0) != '/') {
      throw new VdeInvalidArgumentException("path '" + p + "' is not absolute (it must start with /)");
    }
    List<String> out = new ArrayList<>();
    for (String c : p.split("/")) {
      if (c.isEmpty()) {
        continue;
      }
      if (c.equals(".") || c.equals("..")) {
        throw new VdeInvalidArgumentException("path '" + p + "' contains '" + c + "'; use a normalized path");
      }
      if (c.indexOf('\0') >= 0) {
        throw new VdeInvalidArgumentException("path '" + p + "' contains a NUL character");
      }
      int bad = Bytes.unpairedSurrogate(c);
      if (bad >= 0) {
        // UTF-8 cannot encode it: the name would be stored as '?' in its place, and differ from what was asked.
        throw new VdeInvalidArgumentException("name '" + c + "' is not valid Unicode: an unpaired surrogate "
            + String.format("U+%04X", (int) c.charAt(bad)) + " at index " + bad + "; names are stored as UTF-8");
      }
      int len = c.getBytes(StandardCharsets.UTF_8).length;
      if (len > DirectoryBlockCodec.MAX_NAME_BYTES) {
        throw new VdeInvalidArgumentException("name '" + c.substring(0, 20) + "...' is " + len + " bytes; at most "
            + DirectoryBlockCodec.MAX_NAME_BYTES + " bytes of UTF-8");
      }
      out.add(c);
    }
    return out;
  }

  /**
   * Whether {@code p} ends in '/' after a name. As in POSIX, such a path names a directory: where it leads to a
   * file the operation fails as it does for a file in the middle of a path, and no file is created there.
   */
  static boolean namesDirectory(String p) {
    return p.length() > 1 && p.endsWith("/");
  }

  /**
   * Refuses {@code s}, what {@code p} leads to (an entry of directory {@code holder}), when {@code p} ends in '/'
   * and {@code s} is not a directory.
   */
  private void checkNamesDirectory(long holder, Directories.Slot s, List<String> comps, String p)
      throws IOException {
    if (s != null && s.type() != Inode.TYPE_DIRECTORY && namesDirectory(p)) {
      throw notADirectory(holder, s, comps, comps.size(), p);
    }
  }

  /**
   * The one answer wherever a directory is needed and an entry names a file: along a path, at the end of a path
   * ending in '/', and where the operation itself needs a directory (a listing, {@link #mkdirs}). It is a
   * {@link VdeNotFoundException}, as {@code ENOTDIR} is one error in POSIX for all of these, and names the
   * component that is a file. The entry ({@code s}, of directory {@code holder}; {@code n} components of
   * {@code comps} lead to it) is checked against its inode first, so that an entry whose type byte was damaged
   * is reported as damage rather than as a file.
   */
  private VdeNotFoundException notADirectory(long holder, Directories.Slot s, List<String> comps, int n, String p)
      throws IOException {
    vol.inodes.readEntry(holder, s.inode(), s.type(), where(comps, n, p));
    return new VdeNotFoundException(p + ": " + join(comps, n) + " is not a directory");
  }

  /** How an error about the entry the first {@code n} components of {@code comps} lead to names it, in {@code p}. */
  private static String where(List<String> comps, int n, String p) {
    return n == comps.size() ? p : p + ": " + join(comps, n);
  }

  /** Refuses to create or move a file to {@code p} when it ends in '/'. */
  private static void checkFileMayGoTo(String p) throws VdeInvalidArgumentException {
    if (namesDirectory(p)) {
      throw new VdeInvalidArgumentException(p + ": a path ending in '/' names a directory; no file is created "
          + "there");
    }
  }

  static String join(List<String> comps, int n) {
    if (n == 0) {
      return "/";
    }
    return "/" + String.join("/", comps.subList(0, n));
  }

  /**
   * The slot of an existing path (the root gives a synthetic slot), or null when a component is missing;
   * {@code holder}, when given, receives the inode number of the directory holding the result.
   */
  private Directories.Slot lookup(List<String> comps, String original, long[] holder) throws IOException {
    if (comps.isEmpty()) {
      return new Directories.Slot(Inode.ROOT, Inode.TYPE_DIRECTORY, -1);
    }
    Directories.Dir dir = directory(comps.subList(0, comps.size() - 1), comps, original);
    if (dir == null) {
      return null;
    }
    Directories.Slot s = dir.names.get(comps.get(comps.size() - 1));
    if (s != null && holder != null) {
      holder[0] = dir.inode;
    }
    return s;
  }

  /**
   * The directory {@code prefix} (the first components of {@code comps}) leads to, or null when a component is
   * missing. Every entry on the way is checked against the inode it names ({@link #enter}), not only the last one
   * an operation reads or changes.
   */
  private Directories.Dir directory(List<String> prefix, List<String> comps, String original) throws IOException {
    Directories.Dir dir = vol.directories.get(Inode.ROOT);
    for (int i = 0; i < prefix.size(); i++) {
      Directories.Slot s = dir.names.get(prefix.get(i));
      if (s == null) {
        return null;
      }
      dir = enter(dir.inode, s, comps, i + 1, original);
    }
    return dir;
  }

  /**
   * The directory that entry {@code s} of directory {@code holder} names, the first {@code n} components of
   * {@code comps} leading to it: refused as damage unless that inode is a directory whose parent is
   * {@code holder} (Directories.named), and as not a directory when the entry names a file.
   */
  private Directories.Dir enter(long holder, Directories.Slot s, List<String> comps, int n, String original)
      throws IOException {
    if (s.type() != Inode.TYPE_DIRECTORY) {
      throw notADirectory(holder, s, comps, n, original);
    }
    Directories.Dir d = vol.directories.cachedChild(holder, s.inode());
    // The label is built only on the slow path: lookups are hot.
    return d != null ? d : vol.directories.named(holder, s.inode(), where(comps, n, original));
  }

  private Directories.Slot require(String p) throws IOException {
    return require(p, null);
  }

  /** {@link #require}; {@code holder} as for {@link #lookup} (left alone for the root). */
  private Directories.Slot require(String p, long[] holder) throws IOException {
    List<String> comps = parse(p);
    long[] in = holder != null ? holder : new long[] {-1};
    Directories.Slot s = lookup(comps, p, in);
    if (s == null) {
      throw new VdeNotFoundException(p + ": no such file or directory");
    }
    checkNamesDirectory(in[0], s, comps, p);
    return s;
  }

  private Directories.Dir parentOf(List<String> comps, String original) throws IOException {
    if (comps.isEmpty()) {
      throw new VdeInvalidArgumentException("the root directory cannot be the target of this operation");
    }
    Directories.Dir parent = directory(comps.subList(0, comps.size() - 1), comps, original);
    if (parent == null) {
      throw new VdeNotFoundException(original + ": parent directory " + join(comps, comps.size() - 1)
          + " does not exist");
    }
    return parent;
  }

  /**
   * The entry a file written at {@code p} replaces, or null for a new file; a directory there is refused, and so is
   * a path ending in '/'.
   */
  private Directories.Slot replaceable(Directories.Dir dir, List<String> comps, String p)
      throws IOException {
    Directories.Slot s = dir.names.get(comps.get(comps.size() - 1));
    if (s != null && s.type() == Inode.TYPE_DIRECTORY) {
      throw new VdeInvalidArgumentException(p + " is a directory");
    }
    checkNamesDirectory(dir.inode, s, comps, p);
    checkFileMayGoTo(p);
    return s;
  }

  private Inode requireFile(Txn t, String p) throws IOException {
    long[] holder = {-1};
    Directories.Slot s = require(p, holder);
    if (s.type() != Inode.TYPE_FILE) {
      throw new VdeInvalidArgumentException(p + " is a directory");
    }
    // The entry's inode must be the file the entry names (InodeStore.readEntry), for a read as for a change.
    return vol.inodes.readEntry(t, holder[0], s.inode(), Inode.TYPE_FILE, p);
  }

  /** The inode {@code s} names, checked against its entry in directory {@code dir} (-1: the root, which has none). */
  private Inode entryInode(Txn t, long dir, Directories.Slot s, String p) throws IOException {
    return dir < 0 ? vol.inodes.read(t, s.inode()) : vol.inodes.readEntry(t, dir, s.inode(), s.type(), p);
  }

  /** A random inode generation, so a reused inode number is told apart from its previous life. */
  private static long newGeneration() {
    return java.util.concurrent.ThreadLocalRandom.current().nextInt() & 0xFFFFFFFFL;
  }

  private byte[] emptyModuleArea(Txn t) {
    return new byte[t.sb.inodeSize() - InodeLayout.CORE_SIZE];
  }

  /**
   * Refuses, before any data is written, an operation whose {@code blocks} new data blocks do not fit. Only the
   * data is counted: whether it also needs a directory block or extent-chain blocks depends on where it lands, and
   * such a block that does not fit is refused by its own allocation, which undoes the transaction. A margin for
   * them here would refuse writes that need exactly the free blocks, and a volume could never be filled.
   */
  private void ensureSpace(long blocks, String what) throws IOException {
    if (vol.bitmap().allocatableFree() < blocks && vol.hasUnreleasedFrees()) {
      vol.reclaimFreedBlocks();
    }
    long free = vol.bitmap().allocatableFree();
    if (free < blocks) {
      throw new VdeNoSpaceException(what + " needs " + blocks + " blocks of " + vol.blockSize() + " bytes but only "
          + free + " are free" + vol.spaceHeldByStreams());
    }
  }

  // ---------------------------------------------------------------- files

  /** Creates or replaces a file with {@code data}. The parent directory must exist. */
  public void writeFile(String p, byte[] data) throws IOException {
    java.util.Objects.requireNonNull(data, "data");
    List<String> comps = parse(p);
    int payload = vol.payload();
    long blocks = (data.length + (long) payload - 1) / payload;
    mutate(t -> {
      ensureSpace(blocks, p);
      return replaceContent(t, comps, p, data.length, blocks, (l, dst, off) -> {
            long from = l * payload;
            int n = (int) Math.min(payload, data.length - from);
            System.arraycopy(data, (int) from, dst, off, n);
          });
    });
  }

  /**
   * Creates or replaces a file with everything {@code in} yields; returns the bytes written. Atomic and durable
   * like every operation: until it returns, readers see the old content (or no file). The stream is read without
   * holding back other writers (inside {@link #batch} the batch holds them back anyway): up to 1,024 blocks of
   * payload (4 MiB at 4 KiB blocks) are buffered, in a buffer that grows as the stream fills it, and written as by
   * {@link #writeFile(String, byte[])}; beyond that the content goes to reserved blocks as it arrives, and one
   * short transaction maps them at the end. If the file is deleted or replaced meanwhile, this write still
   * creates or replaces it when it ends (the last to finish wins); if it is renamed meanwhile, this write fails
   * and changes nothing. A stream that throws changes nothing either.
   */
  public long writeFile(String p, InputStream in) throws IOException {
    java.util.Objects.requireNonNull(in, "in");
    List<String> comps = parse(p);
    checkOpen();
    // What can be refused now is refused before the stream is read (the checks are made again at the end).
    inspect(() -> {
      vol.checkWritable();
      Directories.Dir dir = parentOf(comps, p);
      Directories.Slot existing = replaceable(dir, comps, p);
      if (existing != null) {
        // The file replaced must be the one its entry names, with one link (InodeStore.readEntry), as at the end.
        vol.inodes.readEntryToChange(dir.inode, existing.inode(), Inode.TYPE_FILE, p);
      }
      return existing;
    });
    int limit = FileData.IO_BLOCKS * 4 * vol.payload();
    // The buffer grows with what the stream delivers, so that a short stream costs about its own size: at 64 KiB
    // blocks the limit is 64 MiB, too much to allocate for every small upload.
    byte[] chunk = new byte[Math.min(limit, FIRST_STREAM_BUFFER)];
    int n = in.readNBytes(chunk, 0, chunk.length);
    while (n == chunk.length && chunk.length < limit) {
      chunk = Arrays.copyOf(chunk, (int) Math.min(limit, 2L * chunk.length));
      n += in.readNBytes(chunk, n, chunk.length - n);
    }
    if (n < chunk.length) {
      writeFile(p, Arrays.copyOf(chunk, n));
      return n;
    }
    try (StreamedWrite w = stageFor(comps, p)) {
      try {
        while (n > 0) {
          w.append(chunk, n);
          n = n < chunk.length ? 0 : in.readNBytes(chunk, 0, chunk.length);
        }
      } catch (VdeNoSpaceException e) {
        throw new VdeNoSpaceException(p + ": " + e.getMessage(), e.saysWhatToDo());
      }
      w.syncIfLarge();
      return mutate(t -> {
        commitStreamed(t, comps, p, w);
        return w.bytes();
      });
    }
  }

  /** The buffer a streamed write starts with; it doubles up to 1,024 blocks of payload while the stream fills it. */
  static final int FIRST_STREAM_BUFFER = 64 << 10;

  /** Starts staging the content of {@code p}; the lookup and the hold are one step, so no delete comes between. */
  private StreamedWrite stageFor(List<String> comps, String p) throws IOException {
    vol.lockWriter();
    try {
      long existing = inspect(() -> {
        Directories.Slot s = replaceable(parentOf(comps, p), comps, p);
        return s == null ? 0L : s.inode();
      });
      return StreamedWrite.begin(vol, this::checkOpen, existing);
    } finally {
      vol.writerLock().unlock();
    }
  }

  /** Maps a staged content at {@code p} (see {@link StreamedWrite} and {@link #writeFile(String, InputStream)}). */
  /**
   * {@link #replaceable}, inside the transaction that replaces it: replacing frees the blocks of the inode the
   * entry names, so that inode must be this entry's file (InodeStore.readEntry).
   */
  private Directories.Slot replaceableEntry(Txn t, Directories.Dir dir, List<String> comps, String p)
      throws IOException {
    Directories.Slot existing = replaceable(dir, comps, p);
    if (existing != null) {
      vol.inodes.readEntry(t, dir.inode, existing.inode(), Inode.TYPE_FILE, p);
    }
    return existing;
  }

  private void commitStreamed(Txn t, List<String> comps, String p, StreamedWrite w) throws IOException {
    Directories.Dir dir = parentOf(comps, p);
    String name = comps.get(comps.size() - 1);
    Directories.Slot existing = replaceableEntry(t, dir, comps, p);
    long ino = w.inode();
    List<Extent> xs = ExtentMap.normalize(new ArrayList<>(w.extents()));
    if (existing != null && existing.inode() == ino) {
      w.adoptInto(t);
      finishReplace(t, dir, name, existing, ino, xs, w.bytes());
      return;
    }
    // The staged blocks are sealed with inode ino: they can become only that inode's content.
    if (!vol.inodes.read(t, ino).isFree()) {
      throw new VdeInvalidArgumentException(p + " was renamed while its new content was being written; nothing "
          + "was changed");
    }
    if (existing != null) {
      // Deleted and made again, or made by another writer, meanwhile: replaced, as writeFile replaces.
      vol.directories.remove(t, dir, name);
      vol.inodes.free(t, vol.inodes.read(t, existing.inode()));
    }
    w.adoptInto(t);
    finishReplace(t, dir, name, null, ino, xs, w.bytes());
  }

  private Void replaceContent(Txn t, List<String> comps, String p, long size, long blocks,
      FileData.BlockSource src) throws IOException {
    Directories.Dir dir = parentOf(comps, p);
    String name = comps.get(comps.size() - 1);
    Directories.Slot existing = replaceableEntry(t, dir, comps, p);
    long ino = existing != null ? existing.inode() : vol.inodes.allocate(t);
    List<Extent> xs = blocks == 0 ? List.of() : FileData.writeNew(t, ino, 0, blocks, 0, src);
    finishReplace(t, dir, name, existing, ino, ExtentMap.normalize(xs), size);
    return null;
  }

  private void finishReplace(Txn t, Directories.Dir dir, String name, Directories.Slot existing, long ino,
      List<Extent> xs, long size) throws IOException {
    long now = System.currentTimeMillis();
    if (existing != null) {
      Inode old = vol.inodes.read(t, ino);
      for (Extent e : old.extents()) {
        t.free(e.start(), e.count());
      }
      vol.inodes.write(t, old.withExtents(xs, size, old.indirectBlock(), now), old);
    } else {
      Inode fresh = new Inode(ino, Inode.TYPE_FILE, 0, 0644, 1, size, now, now, now, now, 0,
          newGeneration(), dir.inode, xs, emptyModuleArea(t));
      vol.inodes.write(t, fresh, null);
      vol.inodes.countUsed(t, 1);
      vol.directories.add(t, dir, name, ino, Inode.TYPE_FILE);
    }
  }

  /** The whole content of a file. */
  public byte[] readFile(String p) throws IOException {
    return inspect(() -> {
      Inode ino = requireFile(null, p);
      if (ino.size() > Integer.MAX_VALUE - 16) {
        throw new VdeInvalidArgumentException(p + " is " + ino.size() + " bytes, too large for one array; use "
            + "readFile(path, OutputStream)");
      }
      byte[] out = new byte[(int) ino.size()];
      if (out.length > 0) {
        FileData.read(vol, ino.number(), ino.extents(), ino.size(), 0, out, 0, out.length);
      }
      return out;
    });
  }

  /**
   * Streams a file's content to {@code out}; returns the bytes written. What is streamed is the file as it was
   * when the call began, even if it is changed or deleted meanwhile. A slow {@code out} (a network client, say)
   * holds back no other reader or writer: the blocks being read are kept from reuse until this returns, so space
   * that changes to the file free meanwhile becomes reusable only then.
   */
  public long readFile(String p, OutputStream out) throws IOException {
    java.util.Objects.requireNonNull(out, "out");
    record Snapshot(long owner, List<Extent> extents, long size, long pin) {}
    Snapshot s = inspect(() -> {
      Inode ino = requireFile(null, p);
      return new Snapshot(ino.number(), ino.extents(), ino.size(), vol.pinForRead());
    });
    try {
      return FileStreamer.stream(vol, s.owner(), s.extents(), s.size(), out);
    } finally {
      vol.unpinRead(s.pin());
    }
  }

  /** Reads up to {@code len} bytes at {@code position}; returns the count, or -1 at end of file. */
  public int read(String p, long position, byte[] buf, int off, int len) throws IOException {
    checkRange("read", position, buf, off, len);
    return inspect(() -> {
      Inode ino = requireFile(null, p);
      return FileData.read(vol, ino.number(), ino.extents(), ino.size(), position, buf, off, len);
    });
  }

  /**
   * Writes {@code len} bytes at {@code position}, growing the file if needed (a gap reads as zeros). The
   * affected blocks are written anew and switched in the transaction (copy-on-write).
   */
  public void write(String p, long position, byte[] data, int off, int len) throws IOException {
    checkRange("write", position, data, off, len);
    checkEnd(p, position, len);
    mutate(t -> {
      writeAt(t, p, position < 0 ? 0 : position, data, off, len, false);
      return null;
    });
  }

  /** Refuses a range that does not lie inside {@code buf} (compared without overflow) or a negative position. */
  private static void checkRange(String what, long position, byte[] buf, int off, int len)
      throws VdeInvalidArgumentException {
    if (buf == null) {
      throw new VdeInvalidArgumentException(what + ": the buffer is null");
    }
    if (position < 0 || off < 0 || len < 0 || len > buf.length - off) {
      throw new VdeInvalidArgumentException("bad " + what + " range: position " + position + ", offset " + off
          + ", length " + len + ", buffer " + buf.length);
    }
  }

  /** Appends {@code data} to a file. */
  public void append(String p, byte[] data) throws IOException {
    java.util.Objects.requireNonNull(data, "data");
    mutate(t -> {
      writeAt(t, p, 0, data, 0, data.length, true);
      return null;
    });
  }

  private void writeAt(Txn t, String p, long position, byte[] data, int off, int len, boolean append)
      throws IOException {
    Inode old = requireFile(t, p);
    long pos = append ? old.size() : position;
    if (len == 0) {
      return;
    }
    checkEnd(p, pos, len);
    int payload = vol.payload();
    long firstL = pos / payload;
    long lastL = (pos + len - 1) / payload;
    long n = lastL - firstL + 1;
    ensureSpace(n, p);
    long oldSize = old.size();
    if (pos + len > oldSize) {
      refuseBlocksPastSize(old, p);
    }
    List<Extent> oldXs = old.extents();
    long prev = ExtentMap.physical(oldXs, firstL - 1);
    List<Extent> added = FileData.writeNew(t, old.number(), firstL, n, prev < 0 ? 0 : prev + 1, (l, dst, o) -> {
      long blockStart = l * payload;
      boolean full = pos <= blockStart && pos + len >= blockStart + payload;
      if (!full && blockStart < oldSize) {
        byte[] cur = FileData.readBlockPayload(vol, old.number(), oldXs, l);
        System.arraycopy(cur, 0, dst, o, payload);
      }
      long a = Math.max(pos, blockStart);
      long b = Math.min(pos + len, blockStart + payload);
      System.arraycopy(data, (int) (off + a - pos), dst, (int) (o + a - blockStart), (int) (b - a));
    });
    List<long[]> freed = new ArrayList<>();
    List<Extent> kept = ExtentMap.unmap(oldXs, firstL, lastL + 1, freed);
    t.free(freed);
    List<Extent> xs = ExtentMap.map(kept, added);
    vol.inodes.write(t, old.withExtents(xs, Math.max(oldSize, pos + len), old.indirectBlock(),
        System.currentTimeMillis()), old);
  }

  /**
   * Refuses to grow file {@code f} when its extents map a block at or past the end its size gives. Only damage
   * leaves such a file (the verifier reports it; a size damaged smaller, say): growing it would bring what that
   * block holds into the file where zeros belong, the gap of a write past the end or the new part of a truncate.
   */
  private void refuseBlocksPastSize(Inode f, String p) throws VdeCorruptedException {
    long blocks = (f.size() + vol.payload() - 1) / vol.payload();
    long past = ExtentMap.nextMapped(f.extents(), blocks);
    if (past != Long.MAX_VALUE) {
      throw new VdeCorruptedException(vol.inodes.tableBlock(f.number()), "inode table", "file " + p + " (inode "
          + f.number() + ") has size " + f.size() + " (" + blocks + " blocks) but maps logical block " + past
          + " past it", vol.resource());
    }
  }

  /** Refuses a write of {@code len} bytes at {@code pos} that would end past {@link Inode#MAX_FILE_SIZE}. */
  private static void checkEnd(String p, long pos, long len) throws VdeInvalidArgumentException {
    if (pos > Inode.MAX_FILE_SIZE - len) {
      throw new VdeInvalidArgumentException("writing " + len + " bytes at " + pos + " would make " + p
          + " larger than the largest file size, 2^62 bytes");
    }
  }

  /** Sets a file's size; growing adds zeros (a hole), shrinking frees the blocks past the new end. */
  public void truncate(String p, long size) throws IOException {
    if (size < 0 || size > Inode.MAX_FILE_SIZE) {
      throw new VdeInvalidArgumentException("size " + size + " is outside 0 .. 2^62 bytes");
    }
    mutate(t -> {
      Inode old = requireFile(t, p);
      int payload = vol.payload();
      List<Extent> xs = old.extents();
      if (size > old.size()) {
        refuseBlocksPastSize(old, p);
      }
      if (size < old.size()) {
        long keep = (size + payload - 1) / payload;
        List<long[]> freed = new ArrayList<>();
        xs = ExtentMap.unmap(xs, keep, Long.MAX_VALUE, freed);
        int tail = (int) (size % payload);
        long last = size / payload;
        if (tail != 0 && ExtentMap.physical(xs, last) >= 0) {
          // The kept part of the last block is copied with its tail zeroed, so growing later reads zeros there.
          byte[] cur = FileData.readBlockPayload(vol, old.number(), xs, last);
          boolean freesBlocks = !freed.isEmpty();
          List<Extent> fresh;
          try {
            fresh = FileData.writeNew(t, old.number(), last, 1, 0,
                (l, dst, o) -> System.arraycopy(cur, 0, dst, o, tail));
          } catch (VdeNoSpaceException full) {
            throw partialBlockNeedsSpace(p, size, keep * payload, freesBlocks, full);
          }
          xs = ExtentMap.map(ExtentMap.unmap(xs, last, last + 1, freed), fresh);
        }
        t.free(freed);
      }
      vol.inodes.write(t, old.withExtents(xs, size, old.indirectBlock(), System.currentTimeMillis()), old);
      return null;
    });
  }

  /**
   * Why a shrink to {@code size} found no block for its last, partial block, and the way out. The copy cannot
   * go in place (a block a published state maps is never rewritten: a crash before the truncate is durable, or a
   * stream reading the old file, would see the zeroed tail), nor into a block the same truncate frees
   * (AllocationBitmap (2)). A shrink to the block boundary {@code boundary} needs no new block; once it is
   * durable the blocks it freed serve the second step (allocation forces the checkpoint that releases them).
   */
  private static VdeNoSpaceException partialBlockNeedsSpace(String p, long size, long boundary, boolean freesBlocks,
      VdeNoSpaceException full) {
    String way = freesBlocks
        ? "truncate to " + boundary + " bytes first (a block boundary: that needs no new block and frees the blocks"
            + " after it), then to " + size
        : "free a block elsewhere (delete or shrink another file), then retry";
    VdeNoSpaceException e = new VdeNoSpaceException(p + ": truncating to " + size + " bytes keeps part of a block,"
        + " which is copied with its tail zeroed into a free block (data is copy-on-write, and the blocks this"
        + " truncate frees are reusable only once it is durable): " + full.getMessage() + "; " + way, true);
    e.initCause(full);
    return e;
  }

  // ---------------------------------------------------------------- namespace

  /** Deletes a file or an empty directory. */
  public void delete(String p) throws IOException {
    List<String> comps = parse(p);
    mutate(t -> {
      Directories.Dir dir = parentOf(comps, p);
      String name = comps.get(comps.size() - 1);
      Directories.Slot s = dir.names.get(name);
      if (s == null) {
        throw new VdeNotFoundException(p + ": no such file or directory");
      }
      checkNamesDirectory(dir.inode, s, comps, p);
      // Freeing what the entry names: it must be this directory's entry of that inode (InodeStore.readEntry).
      Inode ino = vol.inodes.readEntry(t, dir.inode, s.inode(), s.type(), p);
      if (ino.isDirectory()) {
        if (!vol.directories.get(s.inode()).names.isEmpty()) {
          throw new VdeDirectoryNotEmptyException(p + ": directory not empty (use a recursive delete)");
        }
        if (ino.linkCount() != 2) {
          // An empty directory has its own two links. Another count says entries were lost (a subdirectory
          // no longer listed would be left in use, named by nothing) or the record is damaged: deleting it would
          // hide what the verifier reports, as for a file whose count is not 1 (InodeStore.readEntry).
          throw new VdeCorruptedException(vol.inodes.tableBlock(s.inode()), "inode table", p + ": directory inode "
              + s.inode() + " lists no entries but has link count " + ino.linkCount() + " where an empty directory"
              + " has 2; it is not deleted (run 'vde fsck')", vol.resource());
        }
        adjustLinks(t, dir.inode, -1);
        long gone = s.inode();
        t.onPublish.add(() -> vol.directories.forget(gone));
      }
      vol.directories.remove(t, dir, name);
      vol.inodes.free(t, vol.inodes.read(t, s.inode()));
      return null;
    });
  }

  /**
   * Deletes a file, or a directory and everything below it (one durable transaction per entry, children first;
   * inside {@link #batch} the whole tree costs one commit). The root directory is refused, as by {@link #delete}:
   * emptying a whole volume is better done by creating a new one.
   */
  public void deleteRecursively(String p) throws IOException {
    if (parse(p).isEmpty()) {
      throw new VdeInvalidArgumentException("the root directory cannot be the target of this operation");
    }
    Directories.Slot s = inspect(() -> require(p));
    if (s.type() != Inode.TYPE_DIRECTORY) {
      delete(p);
      return;
    }
    // Depth first with a stack of its own, not by recursion, so that a deep tree cannot exhaust the thread's
    // stack; a directory goes once its entries have. A damaged entry leading back up the tree usually fails in
    // list() (its inode's parent is another directory), but not when the damage rewrote that parent too and the
    // walk started below the root: a directory met again on the way down is refused here, or the walk (whose
    // paths only grow) would never end.
    // Each entry is one operation of its own, so other writers may change the tree between them: an entry that is
    // gone by its turn (deleted or moved away by another thread since its directory was listed) is what this call
    // wants anyway, and is passed over rather than failing the delete with the tree half gone.
    java.util.ArrayDeque<String> dirs = new java.util.ArrayDeque<>();
    java.util.ArrayDeque<java.util.Iterator<DirEntry>> pending = new java.util.ArrayDeque<>();
    java.util.ArrayDeque<Long> inodes = new java.util.ArrayDeque<>();
    java.util.Set<Long> onPath = new java.util.HashSet<>();
    dirs.push(p);
    inodes.push(s.inode());
    onPath.add(s.inode());
    pending.push(list(p).iterator());
    while (!dirs.isEmpty()) {
      java.util.Iterator<DirEntry> it = pending.peek();
      if (!it.hasNext()) {
        pending.pop();
        onPath.remove(inodes.pop());
        String emptied = dirs.pop();
        try {
          deleteUnlessGone(emptied);
        } catch (VdeDirectoryNotEmptyException refilled) {
          // Another writer added to it after it was listed; "use a recursive delete" would be advice to repeat
          // this very call blindly. Entries added meanwhile are not deleted: the caller did not see them.
          throw new VdeDirectoryNotEmptyException(emptied + ": another writer added entries to it while it was "
              + "being deleted; those were left, with the directory and those above it; delete it again to remove "
              + "them");
        }
      } else {
        DirEntry e = it.next();
        if (e.type() == FileType.DIRECTORY) {
          if (!onPath.add(e.inode())) {
            throw new VdeCorruptedException(-1, "directory tree", e.path() + ": its entry names directory inode "
                + e.inode() + ", which contains it (a directory cycle); nothing below it was deleted (run 'vde fsck')",
                vol.resource());
          }
          List<DirEntry> below;
          try {
            below = list(e.path());
          } catch (VdeNotFoundException gone) {
            onPath.remove(e.inode());
            continue;
          }
          dirs.push(e.path());
          inodes.push(e.inode());
          pending.push(below.iterator());
        } else {
          deleteUnlessGone(e.path());
        }
      }
    }
  }

  /** {@link #delete}, for {@link #deleteRecursively}: nothing at {@code p} (any more) is not an error there. */
  private void deleteUnlessGone(String p) throws IOException {
    try {
      delete(p);
    } catch (VdeNotFoundException gone) {
      // Removed (or moved away) by another writer since it was listed.
    }
  }

  private void adjustLinks(Txn t, long dirIno, int delta) throws IOException {
    Inode d = vol.inodes.read(t, dirIno);
    long after = d.linkCount() + delta;
    if (after < 2 || after > 0xFFFFFFFFL) {
      // A directory counts its own two links plus one per subdirectory: a damaged count would wrap around the
      // u32 field (0 - 1 is 4294967295) and hide the damage behind a new one.
      throw new VdeCorruptedException(-1, "inode table", "directory inode " + dirIno + " has link count "
          + d.linkCount() + ", which " + (delta < 0 ? "cannot lose" : "cannot gain") + " a subdirectory (run 'vde fsck')",
          vol.resource());
    }
    vol.inodes.write(t, d.withLinks(d.linkCount() + delta, System.currentTimeMillis()), d);
  }

  /**
   * Moves a file or directory. An existing file at {@code to} is replaced when {@code from} is a file; any other
   * existing target is refused, as is moving a directory below itself.
   */
  public void rename(String from, String to) throws IOException {
    if (from == null || to == null) {
      // parse() would say "path 'null'", which does not tell which of the two it was.
      throw new VdeInvalidArgumentException("rename: the " + (from == null ? "source path (from)" : "target path (to)")
          + " is null");
    }
    List<String> fc = parse(from);
    List<String> tc = parse(to);
    if (fc.isEmpty() || tc.isEmpty()) {
      throw new VdeInvalidArgumentException("cannot rename the root directory");
    }
    mutate(t -> {
      Directories.Dir src = parentOf(fc, from);
      String srcName = fc.get(fc.size() - 1);
      Directories.Slot s = src.names.get(srcName);
      if (s == null) {
        throw new VdeNotFoundException(from + ": no such file or directory");
      }
      checkNamesDirectory(src.inode, s, fc, from);
      if (s.type() != Inode.TYPE_DIRECTORY && namesDirectory(to)) {
        // Before the same-path case: "/f" to "/f/" is refused as well, as rename(2) refuses it.
        Directories.Dir toDir = parentOf(tc, to);
        Directories.Slot there = toDir.names.get(tc.get(tc.size() - 1));
        checkNamesDirectory(toDir.inode, there, tc, to);
        if (there == null) {
          checkFileMayGoTo(to);
        }
      }
      if (s.type() == Inode.TYPE_DIRECTORY && tc.size() > fc.size() && tc.subList(0, fc.size()).equals(fc)) {
        throw new VdeInvalidArgumentException("cannot move " + from + " into itself (" + to + ")");
      }
      if (fc.equals(tc)) {
        return null;
      }
      // Moving rewrites the inode's parent, replacing frees the target: both must be what their entries name.
      vol.inodes.readEntry(t, src.inode, s.inode(), s.type(), from);
      Directories.Dir dst = parentOf(tc, to);
      String dstName = tc.get(tc.size() - 1);
      Directories.Slot target = dst.names.get(dstName);
      if (target != null) {
        if (target.type() == Inode.TYPE_DIRECTORY || s.type() == Inode.TYPE_DIRECTORY) {
          throw new VdeInvalidArgumentException(to + " already exists");
        }
        vol.inodes.readEntry(t, dst.inode, target.inode(), target.type(), to);
        vol.directories.remove(t, dst, dstName);
        vol.inodes.free(t, vol.inodes.read(t, target.inode()));
      }
      vol.directories.remove(t, src, srcName);
      // In the same directory the block image has already lost srcName; add reads the transaction's copy.
      vol.directories.add(t, dst, dstName, s.inode(), s.type());
      long now = System.currentTimeMillis();
      Inode moved = vol.inodes.read(t, s.inode());
      vol.inodes.write(t, moved.withParent(dst.inode, now), moved);
      if (s.type() == Inode.TYPE_DIRECTORY && src.inode != dst.inode) {
        adjustLinks(t, src.inode, -1);
        adjustLinks(t, dst.inode, +1);
        // Lookups check each directory on a path against the parent its cached view holds (Directories.named).
        long dirIno = s.inode();
        long newParent = dst.inode;
        t.onPublish.add(() -> vol.directories.moved(dirIno, newParent));
      }
      return null;
    });
  }

  /** Creates one directory; its parent must exist and the name must be free. */
  public void mkdir(String p) throws IOException {
    List<String> comps = parse(p);
    mutate(t -> {
      Directories.Dir parent = parentOf(comps, p);
      String name = comps.get(comps.size() - 1);
      if (parent.names.containsKey(name)) {
        throw new VdeInvalidArgumentException(p + " already exists");
      }
      mkdirIn(t, parent, name);
      return null;
    });
  }

  /** Creates directory {@code name} in {@code parent} within {@code t}; returns the new (unpublished) view. */
  private Directories.Dir mkdirIn(Txn t, Directories.Dir parent, String name) throws IOException {
    long n = vol.inodes.allocate(t);
    long now = System.currentTimeMillis();
    Inode d = new Inode(n, Inode.TYPE_DIRECTORY, 0, 0755, 2, 0, now, now, now, now, 0,
        newGeneration(), parent.inode, List.of(), emptyModuleArea(t));
    vol.inodes.write(t, d, null);
    vol.inodes.countUsed(t, 1);
    vol.directories.add(t, parent, name, n, Inode.TYPE_DIRECTORY);
    adjustLinks(t, parent.inode, +1);
    Directories.Dir created = new Directories.Dir(n, parent.inode);
    t.onPublish.add(() -> vol.directories.register(created));
    return created;
  }

  /**
   * Creates a directory and any missing parents, all in one transaction (a crash leaves all of them or none);
   * existing directories are fine. A file at any of these paths, the last included, is refused with
   * {@link VdeNotFoundException} "PATH: COMPONENT is not a directory", as wherever a path needs a directory.
   */
  public void mkdirs(String p) throws IOException {
    List<String> comps = parse(p);
    mutate(t -> {
      Directories.Dir cur = vol.directories.get(Inode.ROOT);
      boolean creating = false;
      for (int i = 0; i < comps.size(); i++) {
        String name = comps.get(i);
        Directories.Slot s = creating ? null : cur.names.get(name);
        if (s == null) {
          cur = mkdirIn(t, cur, name);
          creating = true;
        } else {
          // An existing directory is used as it is, so its entry is checked as along any path.
          cur = enter(cur.inode, s, comps, i + 1, p);
        }
      }
      return null;
    });
  }

  /**
   * Entries of a directory, sorted by name (an unmodifiable list, a snapshot of the directory). A file at
   * {@code p} is refused with {@link VdeNotFoundException} "PATH: PATH is not a directory", as a file along a path.
   */
  public List<DirEntry> list(String p) throws IOException {
    return entries(p, true);
  }

  /**
   * The entries of a directory as its own blocks record them (name, inode number, type), without reading the
   * entries' inodes: every {@code size} is -1. For salvage: where {@link #list} fails because an entry's inode
   * lies in a damaged inode-table block, this still names every entry, and {@link #stat} of each tells which
   * ones can be read.
   */
  public List<DirEntry> listEntries(String p) throws IOException {
    return entries(p, false);
  }

  private List<DirEntry> entries(String p, boolean sizes) throws IOException {
    List<String> comps = parse(p);
    return inspect(() -> {
      long[] holder = {-1};
      Directories.Slot s = require(p, holder);
      // The directory listed is checked against its entry as the ones above it are (the root has no entry).
      Directories.Dir dir = holder[0] < 0 ? vol.directories.get(s.inode())
          : enter(holder[0], s, comps, comps.size(), p);
      String base = p.endsWith("/") ? p : p + "/";
      List<DirEntry> out = new ArrayList<>();
      for (DirectoryBlockCodec.Entry e : dir.entries()) {
        boolean file = e.type() == Inode.TYPE_FILE;
        long size = -1;
        if (sizes) {
          Inode ino = vol.inodes.readEntry(s.inode(), e.inode(), e.type(), base + e.name());
          size = file ? ino.size() : 0;
        }
        out.add(new DirEntry(e.name(), base + e.name(), e.inode(), file ? FileType.FILE : FileType.DIRECTORY, size));
      }
      return java.util.Collections.unmodifiableList(out);
    });
  }

  /**
   * What is at {@code p}: type, size (0 for a directory), times and extent count.
   *
   * @throws VdeNotFoundException if nothing is there
   */
  public FileStat stat(String p) throws IOException {
    return inspect(() -> {
      long[] holder = {-1};
      Directories.Slot s = require(p, holder);
      // The root has no entry to check it against (holder untouched).
      Inode ino = holder[0] < 0 ? vol.inodes.read(null, s.inode())
          : vol.inodes.readEntry(holder[0], s.inode(), s.type(), p);
      return new FileStat(p, ino.number(), ino.isDirectory() ? FileType.DIRECTORY : FileType.FILE,
          ino.isDirectory() ? 0 : ino.size(), ino.linkCount(), ino.created(), ino.modified(), ino.extents().size());
    });
  }

  /** Whether a file or directory is at {@code p}; a malformed path is an error, not false. */
  public boolean exists(String p) throws IOException {
    List<String> comps = parse(p);
    return inspect(() -> {
      try {
        long[] holder = {-1};
        Directories.Slot s = lookup(comps, p, holder);
        checkNamesDirectory(holder[0], s, comps, p);
        return s != null;
      } catch (VdeNotFoundException e) {
        return false;
      }
    });
  }

  // ---------------------------------------------------------------- modules

  /**
   * Work inside a format transaction. It changes the volume only through its {@link FormatTransaction}: another
   * operation on the volume from inside it is refused ({@link VdeInvalidArgumentException}).
   */
  @FunctionalInterface
  public interface FormatWork<T> {
    T run(FormatTransaction tx) throws IOException;
  }

  /**
   * Runs {@code work} as one atomic, durable metadata transaction that may change the superblock's manifest and
   * layout, the region directory and block allocation. Other writers wait; readers continue. Durable when it
   * returns even with a commit window ({@link #setCommitWindow}): what follows a format change (a migration
   * clearing its checkpoint record, say) may rely on it. Inside a batch it is durable with the batch.
   */
  public <T> T changeFormat(FormatWork<T> work) throws IOException {
    java.util.Objects.requireNonNull(work, "work");
    return mutate(t -> work.run(new FormatTransaction(t)), true);
  }

  private InodeLayout.Field activeField(Superblock sb, Module m) throws VdeInvalidArgumentException {
    if ((sb.moduleManifest() & m.bit()) == 0) {
      dev.vde.format.MigrationCheckpoint pending = vol.pendingMigration();
      if (pending != null && (pending.targetModules() & m.bit()) != 0) {
        throw new VdeInvalidArgumentException("module " + m.displayName() + " is being added by an inode migration"
            + " that has not completed yet (" + pending.inodesMigrated() + " of " + pending.totalInodes()
            + " inodes); its fields can be used once it completes (InodeMigration.resume, 'vde migrate resume')");
      }
      throw new VdeInvalidArgumentException("module " + m.displayName() + " is not active on this volume; add it "
          + "(ModuleOrchestrator, or 'vde module add IMAGE " + m.abbreviation().toLowerCase(java.util.Locale.ROOT)
          + "')");
    }
    InodeLayout.Field f = sb.layout().fieldFor(m);
    if (f == null) {
      throw new VdeInvalidArgumentException("module " + m.displayName() + " has no per-inode fields");
    }
    return f;
  }

  /** The raw bytes of module {@code m}'s field in the inode of {@code p}. */
  public byte[] readModuleField(String p, Module m) throws IOException {
    return readModuleField(p, m, (inode, field) -> field);
  }

  /** What a reader of a module field makes of its bytes, given the number of the inode they belong to. */
  @FunctionalInterface
  public interface FieldReader<T> {
    T apply(long inode, byte[] field) throws IOException;
  }

  /**
   * Reads module {@code m}'s field in the inode of {@code p} and hands it, with that inode's number, to
   * {@code reader}: the number belongs to the same lookup as the bytes, so an error about them can name the inode
   * even if the path is renamed meanwhile.
   */
  public <T> T readModuleField(String p, Module m, FieldReader<T> reader) throws IOException {
    java.util.Objects.requireNonNull(m, "module");
    java.util.Objects.requireNonNull(reader, "reader");
    return inspect(() -> {
      long[] holder = {-1};
      Directories.Slot s = require(p, holder);
      InodeLayout.Field f = activeField(vol.superblock(), m);
      Inode ino = entryInode(null, holder[0], s, p);
      int from = f.offset() - InodeLayout.CORE_SIZE;
      return reader.apply(ino.number(), java.util.Arrays.copyOfRange(ino.moduleArea(), from, from + f.size()));
    });
  }

  /**
   * Transforms the field bytes of one inode atomically (read, change, write in one transaction). It runs inside
   * that transaction, under the writer lock: it may read the volume but not change it (refused with
   * {@link VdeInvalidArgumentException}), and should be quick.
   */
  @FunctionalInterface
  public interface FieldUpdate {
    byte[] apply(byte[] current) throws IOException;
  }

  /** Replaces module {@code m}'s field in the inode of {@code p}; {@code value} must have the field's size. */
  public void writeModuleField(String p, Module m, byte[] value) throws IOException {
    // The engine's own refusal, as for an update that returns null (the field value is data, like a buffer).
    if (value == null) {
      throw new VdeInvalidArgumentException("the module field value is null", vol.resource());
    }
    updateModuleField(p, m, cur -> value);
  }

  /**
   * Reads, transforms and writes module {@code m}'s field of one inode in one transaction; a value equal to the
   * current one writes nothing.
   */
  public void updateModuleField(String p, Module m, FieldUpdate update) throws IOException {
    java.util.Objects.requireNonNull(update, "update");
    updateModuleField(p, m, (long inode, byte[] current) -> update.apply(current));
  }

  /** A {@link FieldUpdate} that is also given the number of the inode whose field it transforms. */
  @FunctionalInterface
  public interface InodeFieldUpdate {
    byte[] apply(long inode, byte[] current) throws IOException;
  }

  /** {@link #updateModuleField(String, Module, FieldUpdate)}, handing the update the inode's number too. */
  public void updateModuleField(String p, Module m, InodeFieldUpdate update) throws IOException {
    java.util.Objects.requireNonNull(m, "module");
    java.util.Objects.requireNonNull(update, "update");
    mutate(t -> {
      long[] holder = {-1};
      Directories.Slot s = require(p, holder);
      InodeLayout.Field f = activeField(t.sb, m);
      Inode ino = entryInode(t, holder[0], s, p);
      int from = f.offset() - InodeLayout.CORE_SIZE;
      byte[] area = ino.moduleArea().clone();
      byte[] value = update.apply(ino.number(), java.util.Arrays.copyOfRange(area, from, from + f.size()));
      if (value == null) {
        throw new VdeInvalidArgumentException(m.displayName() + " field value is null");
      }
      if (value.length != f.size()) {
        throw new VdeInvalidArgumentException(m.displayName() + " field is " + f.size() + " bytes, got "
            + value.length);
      }
      if (java.util.Arrays.equals(area, from, from + f.size(), value, 0, value.length)) {
        // Nothing changes (removing a tag that is not set, say): no write, so the inode's change time and the
        // image stay as they were.
        return null;
      }
      System.arraycopy(value, 0, area, from, f.size());
      vol.inodes.write(t, ino.withModuleArea(area, System.currentTimeMillis()), ino);
      return null;
    });
  }

  // ---------------------------------------------------------------- volume

  public VolumeInfo info() throws IOException {
    return inspect(() -> {
      Superblock sb = vol.superblock();
      return new VolumeInfo(vol.resource(), sb.formatMajor(), sb.formatMinor(), sb.blockSize(), sb.totalBlocks(),
          vol.bitmap().durableFree(), sb.inodeSize(), sb.inodeCount(), sb.inodesUsed(),
          Module.fromManifest(sb.moduleManifest()), vol.regions().entries(), sb.uuid(), sb.label(),
          sb.createdMillis(), sb.modifiedMillis(), vol.journal().onDiskSuperblock().sequence(),
          sb.layout().paddingBytes(), vol.readOnlyReason(), vol.warnings(), migrationInfo(sb));
    });
  }

  private VolumeInfo.Migration migrationInfo(Superblock sb) {
    if ((sb.incompat() & Superblock.INCOMPAT_MIGRATION_PENDING) == 0) {
      return null;
    }
    dev.vde.format.MigrationCheckpoint c = vol.pendingMigration();
    if (c == null) {
      return new VolumeInfo.Migration("UNKNOWN", 0, 0, List.of());
    }
    return new VolumeInfo.Migration(c.phase().name(), c.inodesMigrated(), c.totalInodes(),
        Module.fromManifest(c.targetModules()));
  }

  /** Runs the verifier over the published state (writers wait meanwhile); a null {@code progress} reports none. */
  public VerifyReport verify(Progress progress) throws IOException {
    checkOpen();
    return vol.withStableState(() -> Verifier.verify(vol, progress));
  }
}
