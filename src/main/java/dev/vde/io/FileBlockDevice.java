package dev.vde.io;

import dev.vde.VdeException;
import dev.vde.VdeLockedException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

/**
 * A {@link BlockDevice} over a host file, holding an exclusive {@link FileLock} for as long as it is open so
 * that a second engine, in this process or another, cannot open the same volume. Read-only devices take a
 * shared lock, which still excludes a writer.
 *
 * <p>Interrupts: the JDK closes a {@link FileChannel} when a thread using it is interrupted, which would stop
 * the volume for every thread, and the close also drops the process's lock on the host file. So every channel
 * call goes through {@link #io}: when the channel turns out closed but {@link #close()} was not called, it opens
 * the host file again, takes the same kind of lock and repeats the call. Repeating is safe because each call is
 * positional and idempotent (the same bytes to the same offsets, or a sync), and the loops resume from the
 * buffer's position, which the JDK advances by what was transferred even when it then throws. The caller's
 * interrupt status is put aside for the call and set again before it returns or throws, so the caller still sees
 * it and an already interrupted thread does not close the channel at all. Between the close and the new lock
 * another engine could take the lock; the device then stops for good, since it must not write over a volume
 * someone else may have changed. The interrupted thread can see its exception while the interrupting thread is
 * still closing the old channel and releasing its lock, so a refused lock is retried for a moment first.
 */
public final class FileBlockDevice implements BlockDevice {
  /** A thread interrupted on this many attempts of one call gives up: someone keeps cancelling it. */
  private static final int MAX_OWN_INTERRUPTS = 3;
  /**
   * Closes caused by other threads' interrupts get more room, since each is already being recovered; the bound
   * only guarantees that a call ends.
   */
  private static final int MAX_ATTEMPTS = 32;

  /**
   * Host files open through this class in this process, each under its real path and, once it exists, its
   * identity on the host (device and inode, {@link BasicFileAttributes#fileKey}), so that two names of one file
   * (a hard link) meet too. The host's locks are POSIX record locks, which belong to the process: closing any
   * channel of a file drops all of the process's locks on it. A second open in the same process that got as far
   * as a channel and was then refused would, by closing it, leave the first engine unlocked against other
   * processes; so a second open is refused here, before any channel exists. (The same holds for any other code
   * in the process that opens and closes the host file: see {@code VirtualDisk}'s class comment.)
   */
  private static final Set<Object> OPEN_HERE = ConcurrentHashMap.newKeySet();

  private final Path path;
  /** This device's entries in {@link #OPEN_HERE}, removed when it closes. */
  private final List<Object> registered;
  private final boolean readOnly;
  /** Identifies the host file, so a reopen never picks up a different file put at the path; null if unknown. */
  private final Object fileKey;
  private volatile FileChannel channel;
  private volatile FileLock lock;
  private volatile boolean closed;
  /** Set once the lock was lost; the device then refuses to reopen. */
  private volatile VdeException lockLost;
  /** Written under this object's monitor. */
  private volatile int reopens;
  /**
   * The host file opened a second time for direct I/O, for {@link #readBulk}: null until the first bulk read, and
   * for good once the host refused it ({@link #directRefused}). Closed only with the device: closing any channel of
   * the file drops this process's lock on it (see {@link #OPEN_HERE}).
   */
  private volatile FileChannel direct;
  private volatile boolean directRefused;
  /** The host file system's block size: offsets, lengths and buffer addresses of direct reads are multiples. */
  private volatile int directAlignment;
  /** Bulk reads that went past the page cache; tests check the direct path is taken. */
  private final java.util.concurrent.atomic.AtomicLong directReads = new java.util.concurrent.atomic.AtomicLong();
  /**
   * Opens the host file for direct reads. Tests put in one that fails as some hosts do (at the open, or at each
   * read), which the file systems they run on do not.
   */
  private volatile DirectOpener directOpener =
      p -> FileChannel.open(p, StandardOpenOption.READ, com.sun.nio.file.ExtendedOpenOption.DIRECT);

  /** How {@link #openDirect} opens the host file a second time; see {@link #directOpener}. */
  @FunctionalInterface
  interface DirectOpener {
    FileChannel open(Path path) throws IOException;
  }

  private FileBlockDevice(Path path, FileChannel channel, FileLock lock, boolean readOnly, Object fileKey,
      List<Object> registered) {
    this.path = path;
    this.channel = channel;
    this.lock = lock;
    this.readOnly = readOnly;
    this.fileKey = fileKey;
    this.registered = registered;
  }

  /** Creates a new host file; fails if it already exists. The file is sparse until written. */
  public static FileBlockDevice create(Path path) throws IOException {
    try {
      return open(path, EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
          StandardOpenOption.WRITE, StandardOpenOption.SPARSE), false);
    } catch (java.nio.file.NoSuchFileException e) {
      // The host's "no such file" for a file it was asked to create means a missing parent, except on file systems
      // that take no new files (/proc): saying "no such directory" of a directory that is there sends the user
      // looking for the wrong problem.
      Path parent = path.toAbsolutePath().getParent();
      if (parent != null && java.nio.file.Files.isDirectory(parent)) {
        throw new dev.vde.VdeInvalidArgumentException("cannot create the file: the host file system of " + parent
            + " takes no new files (it answers 'no such file' for one being created); name a directory on a disk",
            path.toString());
      }
      throw e;
    }
  }

  /** Opens an existing host file. */
  public static FileBlockDevice open(Path path, boolean readOnly) throws IOException {
    return open(path, existingFileOptions(readOnly), readOnly);
  }

  // A reopen uses these too: by then the file exists, so create's CREATE_NEW would fail and SPARSE is moot.
  private static Set<StandardOpenOption> existingFileOptions(boolean readOnly) {
    return readOnly ? EnumSet.of(StandardOpenOption.READ)
        : EnumSet.of(StandardOpenOption.READ, StandardOpenOption.WRITE);
  }

  private static FileBlockDevice open(Path path, Set<StandardOpenOption> opts, boolean readOnly)
      throws IOException {
    // Refuse a second open in this process before it opens a channel: closing that channel would drop the
    // first device's lock with it (see OPEN_HERE).
    List<Object> registered = claim(path);
    try {
      Object before = registered.size() > 1 ? registered.get(1) : null;
      FileChannel ch = FileChannel.open(path, opts);
      // Read after the open: for a file this call created, this is the first look at it. Should the name have
      // changed meanwhile (renamed over, renamed away), the channel may be on a file this process holds locked,
      // and closing it would drop that lock: it is kept open instead, a descriptor spent on a rare race.
      Object key = identity(path);
      if (key == null || !key.equals(before) && !OPEN_HERE.add(key)) {
        QUARANTINE.add(ch);
        throw new VdeLockedException(path + " (changed while being opened)");
      }
      if (!key.equals(before)) {
        registered.add(key);
      }
      FileLock lock = lockOrClose(ch, path, readOnly, false);
      if (lock == null) {
        throw new VdeLockedException(path.toString());
      }
      return new FileBlockDevice(path, ch, lock, readOnly, key, registered);
    } catch (IOException | RuntimeException | Error e) {
      OPEN_HERE.removeAll(registered);
      throw e;
    }
  }

  /**
   * Channels left open on purpose: an open that found the name changed under it, or a lock refused because this
   * process already holds one on the file, cannot close its channel without dropping the lock this process
   * holds. They are kept here so that nothing closes them (a cleaner would).
   */
  private static final Set<FileChannel> QUARANTINE = ConcurrentHashMap.newKeySet();

  /**
   * Registers {@code path} (its real path and, when it exists, its identity) in {@link #OPEN_HERE}, or refuses
   * with {@link VdeLockedException} when this process has it open already. Returns the entries to release.
   */
  static List<Object> claim(Path path) throws IOException {
    List<Object> registered = new ArrayList<>(2);
    try {
      register(registered, registryKey(path), path);
      Object id = identity(path);
      if (id != null) {
        register(registered, id, path);
      }
      return registered;
    } catch (IOException | RuntimeException | Error e) {
      OPEN_HERE.removeAll(registered);
      throw e;
    }
  }

  /** Releases what {@link #claim} registered. */
  static void unclaim(List<Object> registered) {
    OPEN_HERE.removeAll(registered);
  }

  /** Adds {@code key} to {@link #OPEN_HERE} and to {@code into}, or refuses the open if it is there already. */
  private static void register(List<Object> into, Object key, Path path) throws VdeLockedException {
    if (!OPEN_HERE.add(key)) {
      throw new VdeLockedException(path.toString());
    }
    into.add(key);
  }

  /** The host file's device and inode, or null when the file does not exist or the host does not say. */
  private static Object identity(Path path) throws IOException {
    try {
      return Files.readAttributes(path, BasicFileAttributes.class).fileKey();
    } catch (java.nio.file.NoSuchFileException e) {
      return null;
    }
  }

  /**
   * The host file's name in {@link #OPEN_HERE}: its real path (for a file still to be created, its directory's
   * real path and its name), so that two spellings of one path meet, even before the file exists.
   */
  private static Path registryKey(Path path) throws IOException {
    Path abs = path.toAbsolutePath().normalize();
    if (Files.exists(abs)) {
      return abs.toRealPath();
    }
    Path parent = abs.getParent();
    return parent != null && Files.exists(parent) ? parent.toRealPath().resolve(abs.getFileName()) : abs;
  }

  /**
   * The lock on {@code ch}, or null (with {@code ch} closed) when someone else holds it. A lock this process
   * already holds on the file ({@link OverlappingFileLockException}) means the channel is on a file another
   * device here has open: unless {@code closeOnOwnLock} (a reopen of this device's own file, whose old lock is
   * still being released), the channel is then kept open, since closing it would drop that device's lock.
   */
  private static FileLock lockOrClose(FileChannel ch, Path path, boolean shared, boolean closeOnOwnLock)
      throws IOException {
    FileLock lock;
    try {
      lock = ch.tryLock(0, Long.MAX_VALUE, shared);
    } catch (OverlappingFileLockException e) {
      if (!closeOnOwnLock) {
        QUARANTINE.add(ch);
        return null;
      }
      lock = null;
    } catch (IOException e) {
      ch.close();
      throw new VdeException("cannot lock host file: " + e.getMessage(), path.toString(), e);
    }
    if (lock == null) {
      ch.close();
    }
    return lock;
  }

  public Path path() {
    return path;
  }

  public boolean isReadOnly() {
    return readOnly;
  }

  /** How often an interrupt made the device reopen the host file; tests check the recovery actually ran. */
  int reopens() {
    return reopens;
  }

  @Override
  public void read(long pos, ByteBuffer dst) throws IOException {
    int start = dst.position();
    while (dst.hasRemaining()) {
      // The offset comes from the buffer inside the call, so a retry continues where the last attempt stopped.
      if (io(ch -> ch.read(dst, pos + (dst.position() - start))) < 0) {
        // Past the end of the host file: the rest reads as zero, as for a hole.
        while (dst.hasRemaining()) {
          dst.put((byte) 0);
        }
        return;
      }
    }
  }

  /**
   * Reads past the page cache (O_DIRECT) when {@code dst} is a direct buffer and the buffer's address, {@code pos}
   * and the length are multiples of the host file system's block size; otherwise, or where the host does not offer
   * direct I/O, as {@link #read}. Linux writes the page cache's dirty pages of the range back before a direct read,
   * so it sees every write issued so far, as {@link #read} does.
   *
   * <p>Interrupts: the JDK closes the direct channel too when a thread reading through it is interrupted, and that
   * close drops the process's lock on the file like any other. The device then closes its main channel as well and
   * recovers it as after an interrupt there ({@link #io}): it takes the lock again, or stops for good if another
   * engine took it meanwhile. Bulk reads go through the page cache from then on.
   */
  @Override
  public void readBulk(long pos, ByteBuffer dst) throws IOException {
    // Once refused, never direct again: a channel whose reads the host refused stays open (closing it would drop
    // the lock), and trying it would cost every bulk read a failed read before the cached one.
    FileChannel d = directRefused ? null : direct == null ? openDirect() : direct;
    int align = directAlignment;
    if (d == null || !dst.isDirect() || pos % align != 0 || dst.remaining() % align != 0
        || dst.alignmentOffset(dst.position(), align) != 0 || Thread.currentThread().isInterrupted()) {
      read(pos, dst);
      return;
    }
    int start = dst.position();
    try {
      while (dst.hasRemaining()) {
        if (d.read(dst, pos + (dst.position() - start)) < 0) {
          // Past the end of the host file: zeros, as read() gives.
          while (dst.hasRemaining()) {
            dst.put((byte) 0);
          }
        }
      }
      directReads.incrementAndGet();
    } catch (ClosedChannelException e) {
      if (closed) {
        throw closedError(e);
      }
      boolean interrupted = Thread.interrupted();
      try {
        directLost(d, e);
      } finally {
        if (interrupted || e instanceof ClosedByInterruptException) {
          Thread.currentThread().interrupt();
        }
      }
      // The rest through the recovered main channel; what the direct read transferred stays.
      read(pos + (dst.position() - start), dst);
    } catch (IOException e) {
      if (!refusedDirect(e)) {
        throw e;
      }
      // A file system that opens files for direct I/O but refuses the reads themselves (some FUSE and network
      // ones): through the page cache from now on.
      directRefused = true;
      read(pos + (dst.position() - start), dst);
    }
  }

  /** Whether {@code e} is the host refusing a direct read as such (EINVAL, or the JDK's alignment check). */
  private static boolean refusedDirect(IOException e) {
    String m = e.getMessage();
    return m != null && (m.contains("Invalid argument") || m.contains("multiple of the block size")
        || m.contains("not aligned"));
  }

  /** The direct channel, opened now; null (and never tried again) where the host refuses direct I/O. */
  private synchronized FileChannel openDirect() {
    if (direct != null || directRefused || closed) {
      return direct;
    }
    try {
      long store = Files.getFileStore(path).getBlockSize();
      int align = store > 0 && store <= BULK_ALIGNMENT ? (int) store : -1;
      if (align <= 0 || Integer.bitCount(align) != 1) {
        directRefused = true;
        return null;
      }
      FileChannel ch = directOpener.open(path);
      if (fileKey == null || !fileKey.equals(identity(path))) {
        // Not this device's file any more (renamed over): closing the channel could drop another device's lock.
        QUARANTINE.add(ch);
        directRefused = true;
        return null;
      }
      directAlignment = align;
      direct = ch;
      return ch;
    } catch (IOException | UnsupportedOperationException e) {
      // A file system without direct I/O (tmpfs, some network and FUSE file systems) or a platform without it.
      directRefused = true;
      return null;
    }
  }

  /**
   * The direct channel {@code dead} was closed, by an interrupt or by the device's close, and the process's lock
   * on the file with it: bulk reads stop going direct, and the main channel is closed and recovered, which takes
   * the lock again (or stops the device, should another engine have taken it meanwhile).
   */
  private synchronized void directLost(FileChannel dead, ClosedChannelException cause) throws IOException {
    if (direct != dead) {
      return;
    }
    direct = null;
    directRefused = true;
    if (closed) {
      throw closedError(cause);
    }
    FileChannel main = channel;
    // Closing the main channel takes its lock out of the JVM's table, so that the reopen can lock the file again;
    // other threads' calls on it see the close and wait for the reopen below (io, reopen).
    main.close();
    reopen(main, cause);
  }

  /** Bulk reads that went past the page cache so far. */
  long directReads() {
    return directReads.get();
  }

  /** Replaces how the direct channel is opened; call before the first bulk read. For tests. */
  void directOpener(DirectOpener opener) {
    directOpener = opener;
  }

  /** The direct channel, or null; tests close it as an interrupt would. */
  FileChannel directChannel() {
    return direct;
  }

  @Override
  public void write(long pos, ByteBuffer src) throws IOException {
    int start = src.position();
    while (src.hasRemaining()) {
      io(ch -> ch.write(src, pos + (src.position() - start)));
    }
  }

  @Override
  public void sync() throws IOException {
    io(ch -> {
      ch.force(false);
      return 0;
    });
  }

  @Override
  public long size() throws IOException {
    return io(FileChannel::size);
  }

  @Override
  public void truncate(long size) throws IOException {
    long cur = size();
    if (size < cur) {
      io(ch -> {
        ch.truncate(size);
        return 0;
      });
    } else if (size > cur) {
      // Extending by one byte at the new end keeps the file sparse.
      write(size - 1, ByteBuffer.wrap(new byte[1]));
    }
  }

  @Override
  public String describe() {
    return path.toString();
  }

  @Override
  public void copyTo(long srcPos, BlockDevice dst, long dstPos, long length, ByteBuffer scratch)
      throws IOException {
    if (!(dst instanceof FileBlockDevice)) {
      BlockDevice.super.copyTo(srcPos, dst, dstPos, length, scratch);
      return;
    }
    FileBlockDevice to = (FileBlockDevice) dst;
    long done = 0;
    while (done < length) {
      long at = done;
      // Each device recovers its own channel: the inner call passes the destination's failure outwards. A
      // transfer cut short is repeated whole, which rewrites the same bytes.
      long n = to.io(out -> io(in -> in.transferTo(srcPos + at, length - at, out.position(dstPos + at))));
      if (n <= 0) {
        BlockDevice.super.copyTo(srcPos + done, dst, dstPos + done, length - done, scratch);
        return;
      }
      done += n;
    }
  }

  @Override
  public synchronized void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    FileChannel ch = channel;
    try {
      FileLock l = lock;
      if (l.isValid()) {
        l.release();
      }
    } catch (ClosedChannelException e) {
      // An interrupt closed the channel just now, which released the lock with it.
    } finally {
      try {
        ch.close();
      } finally {
        try {
          FileChannel d = direct;
          if (d != null) {
            d.close();
          }
        } finally {
          OPEN_HERE.removeAll(registered);
        }
      }
    }
  }

  /**
   * What a call on a closed device throws: the engine's own error rather than the JDK's, since the usual cause is
   * a volume closed by one thread while another (a migration, a copy) still works on it.
   */
  private VdeException closedError(ClosedChannelException cause) {
    return new VdeException("the volume was closed", path.toString(), cause);
  }

  /** How long a reopen waits for the dead channel's lock to be released before calling the lock lost. */
  private static final long RELOCK_WAIT_NANOS = 250_000_000L;

  @FunctionalInterface
  private interface ChannelCall {
    long run(FileChannel ch) throws IOException;
  }

  /** Runs {@code call} on the channel, recovering it as the class comment explains. */
  private long io(ChannelCall call) throws IOException {
    // A thread that is already interrupted would close the channel on entry; spare everyone that.
    boolean interrupted = Thread.currentThread().isInterrupted() && Thread.interrupted();
    FileChannel ch = channel;
    try {
      int own = 0;
      for (int attempt = 1; ; attempt++) {
        try {
          return call.run(ch);
        } catch (ClosedChannelException e) {
          if (closed) {
            throw closedError(e);
          }
          if (ch.isOpen()) {
            throw e; // the channel that died is another device's (copyTo), which reports it itself
          }
          boolean mine = e instanceof ClosedByInterruptException;
          interrupted |= Thread.interrupted() | mine;
          if (mine) {
            own++;
          }
          if (own >= MAX_OWN_INTERRUPTS || attempt >= MAX_ATTEMPTS) {
            throw new VdeException("host file was closed by interrupts on each of " + attempt
                + " attempts of one I/O call; giving up", path.toString(), e);
          }
          ch = reopen(ch, e);
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The channel to retry on: a new one in place of {@code dead}, or the one another thread put there. */
  private synchronized FileChannel reopen(FileChannel dead, ClosedChannelException cause) throws IOException {
    if (closed) {
      throw closedError(cause);
    }
    if (lockLost != null) {
      throw new VdeException(lockLost.getOriginalMessage(), path.toString(), lockLost);
    }
    if (channel != dead) {
      return channel;
    }
    // The interrupted channel is closed by the interrupting thread, which may still be at it when this thread
    // sees the exception: until that close has released the old lock, the JVM's lock table still holds it and a
    // new lock collides with our own. So a refused lock is retried for a moment before concluding that another
    // engine holds the file.
    long deadline = System.nanoTime() + RELOCK_WAIT_NANOS;
    FileChannel ch;
    FileLock l;
    while (true) {
      // Never open what is no longer this device's file: if the name now leads to another image this process
      // has open, a refused lock and its close would drop that image's lock.
      if (fileKey != null && !fileKey.equals(identity(path))) {
        lockLost = new VdeException("the host file was replaced while recovering from an interrupt; this volume "
            + "stops", path.toString(), null);
        throw lockLost;
      }
      try {
        ch = FileChannel.open(path, existingFileOptions(readOnly));
      } catch (IOException e) {
        throw new VdeException("cannot reopen host file after an interrupt closed it: " + e.getMessage(),
            path.toString(), e);
      }
      l = lockOrClose(ch, path, readOnly, true);
      if (l != null || System.nanoTime() >= deadline) {
        break;
      }
      LockSupport.parkNanos(1_000_000);
    }
    if (l == null) {
      lockLost = new VdeException("the host file's lock was lost while recovering from an interrupt: another "
          + "engine took it; this volume stops", path.toString(), new VdeLockedException(path.toString()));
      throw lockLost;
    }
    Object key;
    try {
      key = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
    } catch (IOException e) {
      ch.close();
      throw new VdeException("cannot reopen host file after an interrupt closed it: " + e.getMessage(),
          path.toString(), e);
    }
    if (fileKey != null && !fileKey.equals(key)) {
      // Renamed between the check above and the open: what this channel is on is unknown, so it stays open.
      QUARANTINE.add(ch);
      lockLost = new VdeException("the host file was replaced while recovering from an interrupt; this volume "
          + "stops", path.toString(), cause);
      throw lockLost;
    }
    lock = l;
    channel = ch;
    reopens++;
    return ch;
  }
}
