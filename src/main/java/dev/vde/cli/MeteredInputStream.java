package dev.vde.cli;

import dev.vde.Progress;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/** Counts the bytes read through it and reports them, so a streamed copy can show its progress. */
final class MeteredInputStream extends FilterInputStream {
  private final Progress progress;
  private final String phase;
  private final long total;
  private long count;

  MeteredInputStream(InputStream in, Progress progress, String phase, long total) {
    super(in);
    this.progress = progress;
    this.phase = phase;
    this.total = total;
    progress.update(phase, 0, total, "bytes");
  }

  @Override
  public int read() throws IOException {
    int b = super.read();
    if (b >= 0) {
      advance(1);
    }
    return b;
  }

  @Override
  public int read(byte[] buf, int off, int len) throws IOException {
    int n = super.read(buf, off, len);
    if (n > 0) {
      advance(n);
    }
    return n;
  }

  @Override
  public long skip(long n) throws IOException {
    long skipped = super.skip(n);
    advance(skipped);
    return skipped;
  }

  // Marks would make the count go backwards; nobody needs them for a one-pass copy.
  @Override
  public boolean markSupported() {
    return false;
  }

  long count() {
    return count;
  }

  private void advance(long n) {
    count += n;
    progress.update(phase, count, total, "bytes");
  }
}
