package dev.vde.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The best a plain file can do at what the engine's group-commit row does: several threads, each writing 4 KiB
 * and returning only once it is durable, with one fdatasync shared by every write done when it starts. Nothing
 * else is written (no metadata, no checksum, no journal), the file is written and synced in full first so that no
 * sync has to commit a block allocation, and a thread that would start a sync first waits (up to
 * {@link #GATHER_NANOS}) until every other running thread has written its block, so each sync serves all of them.
 * A reference for the engine's group commit: the same pattern with none of the engine's own writes or checks.
 */
final class PlainGroupCommit {
  /** Longest a syncing thread waits for the others' writes; far more than one 4 KiB pwrite takes. */
  static final long GATHER_NANOS = 200_000;

  private final FileChannel ch;
  private final Object monitor = new Object();
  private int running;
  private long written;
  private long synced;
  private boolean syncing;
  private long syncs;

  private PlainGroupCommit(FileChannel ch, int threads) {
    this.ch = ch;
    this.running = threads;
  }

  /** Result of one run. */
  record Run(double seconds, long syncs) {}

  /** {@code ops} durable 4 KiB writes from {@code threads} threads into a fresh file at {@code p}. */
  static Run run(Path p, int threads, int ops) throws Exception {
    int block = 4096;
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
        StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer zeros = ByteBuffer.allocate(1 << 20);
      for (long at = 0; at < (long) ops * block; at += zeros.capacity()) {
        zeros.clear();
        ch.write(zeros, at);
      }
      ch.force(true);
      PlainGroupCommit g = new PlainGroupCommit(ch, threads);
      byte[] data = Tools.randomBytes(11, block);
      ExecutorService ex = Executors.newFixedThreadPool(threads);
      try {
        long t0 = System.nanoTime();
        List<Future<?>> fs = new ArrayList<>();
        for (int th = 0; th < threads; th++) {
          int first = th;
          fs.add(ex.submit(() -> {
            try {
              ByteBuffer b = ByteBuffer.wrap(data);
              for (int i = first; i < ops; i += threads) {
                b.clear();
                ch.write(b, (long) i * block);
                g.durable();
              }
            } finally {
              g.leave();
            }
            return null;
          }));
        }
        for (Future<?> f : fs) {
          f.get();
        }
        return new Run((System.nanoTime() - t0) / 1e9, g.syncs);
      } finally {
        ex.shutdownNow();
        ex.awaitTermination(10, TimeUnit.SECONDS);
      }
    } finally {
      Files.deleteIfExists(p);
    }
  }

  private void leave() {
    synchronized (monitor) {
      running--;
      monitor.notifyAll();
    }
  }

  /** Returns once the caller's write (done before this call) is durable. */
  private void durable() throws IOException, InterruptedException {
    long ticket;
    synchronized (monitor) {
      ticket = ++written;
      monitor.notifyAll();
    }
    while (true) {
      long target;
      synchronized (monitor) {
        while (syncing && synced < ticket) {
          monitor.wait();
        }
        if (synced >= ticket) {
          return;
        }
        syncing = true;
        long deadline = System.nanoTime() + GATHER_NANOS;
        // Every running thread but the ones already synced has one write to add; wait for it briefly.
        while (written - synced < running) {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            break;
          }
          monitor.wait(left / 1_000_000, (int) (left % 1_000_000));
        }
        target = written;
      }
      try {
        ch.force(false);
      } finally {
        synchronized (monitor) {
          synced = Math.max(synced, target);
          syncing = false;
          syncs++;
          monitor.notifyAll();
        }
      }
    }
  }
}
