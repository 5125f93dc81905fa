package dev.vde.io;

import dev.vde.VdeException;
import dev.vde.VdeLockedException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.EnumSet;
import java.util.Set;

/**
 * A {@link BlockDevice} over a host file, holding an exclusive {@link FileLock} for as long as it is open so
 * that a second engine, in this process or another, cannot open the same volume. Read-only devices take a
 * shared lock, which still excludes a writer.
 */
public final class FileBlockDevice implements BlockDevice {
  private final Path path;
  private final FileChannel channel;
  private final FileLock lock;
  private final boolean readOnly;

  private FileBlockDevice(Path path, FileChannel channel, FileLock lock, boolean readOnly) {
    this.path = path;
    this.channel = channel;
    this.lock = lock;
    this.readOnly = readOnly;
  }

  /** Creates a new host file; fails if it already exists. The file is sparse until written. */
  public static FileBlockDevice create(Path path) throws IOException {
    return open(path, EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
        StandardOpenOption.WRITE, StandardOpenOption.SPARSE), false);
  }

  /** Opens an existing host file. */
  public static FileBlockDevice open(Path path, boolean readOnly) throws IOException {
    Set<StandardOpenOption> opts = readOnly ? EnumSet.of(StandardOpenOption.READ)
        : EnumSet.of(StandardOpenOption.READ, StandardOpenOption.WRITE);
    return open(path, opts, readOnly);
  }

  private static FileBlockDevice open(Path path, Set<StandardOpenOption> opts, boolean readOnly)
      throws IOException {
    FileChannel ch = FileChannel.open(path, opts);
    FileLock lock;
    try {
      lock = ch.tryLock(0, Long.MAX_VALUE, readOnly);
    } catch (OverlappingFileLockException e) {
      lock = null;
    } catch (IOException e) {
      ch.close();
      throw new VdeException("cannot lock host file: " + e.getMessage(), path.toString(), e);
    }
    if (lock == null) {
      ch.close();
      throw new VdeLockedException(path.toString());
    }
    return new FileBlockDevice(path, ch, lock, readOnly);
  }

  public Path path() {
    return path;
  }

  public boolean isReadOnly() {
    return readOnly;
  }

  @Override
  public void read(long pos, ByteBuffer dst) throws IOException {
    long p = pos;
    while (dst.hasRemaining()) {
      int n = channel.read(dst, p);
      if (n < 0) {
        // Past the end of the host file: the rest reads as zero, as for a hole.
        while (dst.hasRemaining()) {
          dst.put((byte) 0);
        }
        return;
      }
      p += n;
    }
  }

  @Override
  public void write(long pos, ByteBuffer src) throws IOException {
    long p = pos;
    while (src.hasRemaining()) {
      p += channel.write(src, p);
    }
  }

  @Override
  public void sync() throws IOException {
    channel.force(false);
  }

  @Override
  public long size() throws IOException {
    return channel.size();
  }

  @Override
  public void truncate(long size) throws IOException {
    long cur = channel.size();
    if (size < cur) {
      channel.truncate(size);
    } else if (size > cur) {
      // Extending by one byte at the new end keeps the file sparse.
      channel.write(ByteBuffer.wrap(new byte[1]), size - 1);
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
    FileChannel out = ((FileBlockDevice) dst).channel;
    long done = 0;
    while (done < length) {
      long n = channel.transferTo(srcPos + done, length - done, out.position(dstPos + done));
      if (n <= 0) {
        BlockDevice.super.copyTo(srcPos + done, dst, dstPos + done, length - done, scratch);
        return;
      }
      done += n;
    }
  }

  @Override
  public void close() throws IOException {
    try {
      if (lock.isValid()) {
        lock.release();
      }
    } finally {
      channel.close();
    }
  }
}
