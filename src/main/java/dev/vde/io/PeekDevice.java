package dev.vde.io;

import dev.vde.VdeReadOnlyException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Reads a host file without locking it, for a look at a volume that another process has open (the progress of
 * its migration, say). What it reads may change under it: a caller reads only blocks written in place with their
 * own checksums and takes a torn or stale one for what it is.
 *
 * <p>Opening and closing a channel drops every POSIX lock this process holds on the file, so a peek at a file
 * this process has open through {@link FileBlockDevice} is refused, and while a peek is open the file counts as
 * open here: an engine in this process that opened it meanwhile would lose its lock when the peek closes.
 */
public final class PeekDevice implements BlockDevice {
  private final Path path;
  private final FileChannel channel;
  private final List<Object> claimed;
  private boolean closed;

  private PeekDevice(Path path, FileChannel channel, List<Object> claimed) {
    this.path = path;
    this.channel = channel;
    this.claimed = claimed;
  }

  /** Opens {@code path} for reading, unlocked; refused when this process has it open as a volume. */
  public static PeekDevice open(Path path) throws IOException {
    List<Object> claimed = FileBlockDevice.claim(path);
    try {
      return new PeekDevice(path, FileChannel.open(path, StandardOpenOption.READ), claimed);
    } catch (IOException | RuntimeException e) {
      FileBlockDevice.unclaim(claimed);
      throw e;
    }
  }

  @Override
  public void read(long pos, ByteBuffer dst) throws IOException {
    int start = dst.position();
    while (dst.hasRemaining()) {
      if (channel.read(dst, pos + (dst.position() - start)) < 0) {
        while (dst.hasRemaining()) {
          dst.put((byte) 0);
        }
      }
    }
  }

  @Override
  public void write(long pos, ByteBuffer src) throws IOException {
    throw new VdeReadOnlyException("a peek does not write", path.toString());
  }

  @Override
  public void sync() {}

  @Override
  public long size() throws IOException {
    return channel.size();
  }

  @Override
  public void truncate(long size) throws IOException {
    throw new VdeReadOnlyException("a peek does not write", path.toString());
  }

  @Override
  public String describe() {
    return path.toString();
  }

  @Override
  public synchronized void close() throws IOException {
    if (closed) {
      return; // a second close must not release entries another open has registered since
    }
    closed = true;
    try {
      channel.close();
    } finally {
      FileBlockDevice.unclaim(claimed);
    }
  }
}
