package dev.vde.fs;

import dev.vde.Progress;
import dev.vde.check.VerifyReport;
import dev.vde.io.BlockDevice;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;

/** API skeleton; implementation in progress. */
public final class VirtualDisk implements Closeable {
  public static VirtualDisk create(Path path, CreateOptions options) throws IOException { throw new UnsupportedOperationException(); }
  public static VirtualDisk create(BlockDevice device, CreateOptions options) throws IOException { throw new UnsupportedOperationException(); }
  public static VirtualDisk open(Path path) throws IOException { throw new UnsupportedOperationException(); }
  public static VirtualDisk open(Path path, OpenOptions options) throws IOException { throw new UnsupportedOperationException(); }
  public static VirtualDisk open(BlockDevice device, OpenOptions options) throws IOException { throw new UnsupportedOperationException(); }
  public void writeFile(String path, byte[] data) throws IOException { throw new UnsupportedOperationException(); }
  public long writeFile(String path, InputStream in) throws IOException { throw new UnsupportedOperationException(); }
  public byte[] readFile(String path) throws IOException { throw new UnsupportedOperationException(); }
  public long readFile(String path, OutputStream out) throws IOException { throw new UnsupportedOperationException(); }
  public int read(String path, long position, byte[] buf, int off, int len) throws IOException { throw new UnsupportedOperationException(); }
  public void write(String path, long position, byte[] data, int off, int len) throws IOException { throw new UnsupportedOperationException(); }
  public void append(String path, byte[] data) throws IOException { throw new UnsupportedOperationException(); }
  public void truncate(String path, long size) throws IOException { throw new UnsupportedOperationException(); }
  public void delete(String path) throws IOException { throw new UnsupportedOperationException(); }
  public void deleteRecursively(String path) throws IOException { throw new UnsupportedOperationException(); }
  public void rename(String from, String to) throws IOException { throw new UnsupportedOperationException(); }
  public void mkdir(String path) throws IOException { throw new UnsupportedOperationException(); }
  public void mkdirs(String path) throws IOException { throw new UnsupportedOperationException(); }
  public List<DirEntry> list(String path) throws IOException { throw new UnsupportedOperationException(); }
  public FileStat stat(String path) throws IOException { throw new UnsupportedOperationException(); }
  public boolean exists(String path) throws IOException { throw new UnsupportedOperationException(); }
  public interface BatchWork { void run(VirtualDisk disk) throws IOException; }
  public void batch(BatchWork work) throws IOException { throw new UnsupportedOperationException(); }
  public VolumeInfo info() throws IOException { throw new UnsupportedOperationException(); }
  public VerifyReport verify(Progress progress) throws IOException { throw new UnsupportedOperationException(); }
  public boolean isReadOnly() { throw new UnsupportedOperationException(); }
  public String readOnlyReason() { throw new UnsupportedOperationException(); }
  public void checkpoint() throws IOException { throw new UnsupportedOperationException(); }
  @Override public void close() throws IOException { throw new UnsupportedOperationException(); }
}
