package dev.vde.io;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A {@link BlockDevice} that passes every call to another one; subclasses override the calls they change (count
 * writes, refuse to close a device they do not own, fail on purpose in tests).
 */
public abstract class ForwardingBlockDevice implements BlockDevice {
  protected final BlockDevice delegate;

  protected ForwardingBlockDevice(BlockDevice delegate) {
    this.delegate = delegate;
  }

  @Override
  public void read(long pos, ByteBuffer dst) throws IOException {
    delegate.read(pos, dst);
  }

  @Override
  public void write(long pos, ByteBuffer src) throws IOException {
    delegate.write(pos, src);
  }

  @Override
  public void sync() throws IOException {
    delegate.sync();
  }

  @Override
  public long size() throws IOException {
    return delegate.size();
  }

  @Override
  public void truncate(long size) throws IOException {
    delegate.truncate(size);
  }

  @Override
  public String describe() {
    return delegate.describe();
  }

  @Override
  public void close() throws IOException {
    delegate.close();
  }
}
