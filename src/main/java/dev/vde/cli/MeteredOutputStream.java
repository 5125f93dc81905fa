package dev.vde.cli;

import dev.vde.Progress;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/** Counts the bytes written through it and reports them, so a streamed copy can show its progress. */
final class MeteredOutputStream extends FilterOutputStream {
  private final Progress progress;
  private final String phase;
  private final long total;
  private long count;

  MeteredOutputStream(OutputStream out, Progress progress, String phase, long total) {
    super(out);
    this.progress = progress;
    this.phase = phase;
    this.total = total;
    progress.update(phase, 0, total, "bytes");
  }

  @Override
  public void write(int b) throws IOException {
    out.write(b);
    advance(1);
  }

  // FilterOutputStream would write the array one byte at a time.
  @Override
  public void write(byte[] buf, int off, int len) throws IOException {
    out.write(buf, off, len);
    advance(len);
  }

  long count() {
    return count;
  }

  private void advance(long n) {
    count += n;
    progress.update(phase, count, total, "bytes");
  }
}
