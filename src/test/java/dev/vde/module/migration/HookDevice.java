package dev.vde.module.migration;

import dev.vde.io.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;

/** Delegates to another device, calling a hook before every write (not under the delegate's monitor). */
final class HookDevice implements BlockDevice {
  interface Hook {
    void beforeWrite(long pos, byte[] data) throws IOException;
  }

  private final BlockDevice d;
  volatile Hook hook = (p, b) -> {};

  HookDevice(BlockDevice d) {
    this.d = d;
  }

  @Override
  public void read(long pos, ByteBuffer dst) throws IOException {
    d.read(pos, dst);
  }

  @Override
  public void write(long pos, ByteBuffer src) throws IOException {
    byte[] b = new byte[src.remaining()];
    src.duplicate().get(b);
    hook.beforeWrite(pos, b);
    d.write(pos, src);
  }

  @Override
  public void sync() throws IOException {
    d.sync();
  }

  @Override
  public long size() throws IOException {
    return d.size();
  }

  @Override
  public void truncate(long size) throws IOException {
    d.truncate(size);
  }

  @Override
  public String describe() {
    return d.describe();
  }

  @Override
  public void close() throws IOException {
    d.close();
  }
}
