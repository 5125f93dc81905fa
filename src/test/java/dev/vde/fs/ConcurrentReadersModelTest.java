package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.VdeNotFoundException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Readers against two writers, checked against the writers' models: every whole-file read (into an array, by
 * position, streamed to an {@code OutputStream}) must give a content some operation committed, in full; every
 * {@code stat} and listed size a size some operation committed; every listing of the directory the writer renames
 * and deletes in a set of names it had. The writers replace, overwrite, append, truncate, rename and delete files
 * (small, fragmented and streamed ones), run batches and checkpoints, while another thread syncs and, in the second
 * case, interrupts the readers, under a commit window and a small WAL. Afterwards the volume verifies clean.
 */
@org.junit.jupiter.api.Timeout(value = 120, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
class ConcurrentReadersModelTest {
  @TempDir Path dir;

  record Key(int len, int h, long crc) {
    static Key of(byte[] b) {
      CRC32 c = new CRC32();
      c.update(b);
      return new Key(b.length, Arrays.hashCode(b), c.getValue());
    }
  }

  final Set<Key> states = ConcurrentHashMap.newKeySet();
  final Set<String> listings = ConcurrentHashMap.newKeySet();
  final Set<Long> sizes = ConcurrentHashMap.newKeySet();
  final ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();

  void reg(byte[] b) {
    states.add(Key.of(b));
    sizes.add((long) b.length);
  }

  void regDir(TreeMap<String, byte[]> m) {
    listings.add(String.join(",", m.keySet()));
  }

  @Test
  void readersSeeWholeCommittedStates_atSmallBlocks() throws Exception {
    run(20261206L, 512, 0, false, false);
  }

  @Test
  void readersSeeWholeCommittedStates_underACommitWindowASmallWalAndInterrupts() throws Exception {
    run(20261207L, 4096, 16, true, true);
  }

  private void run(long seed, int bs, long walBlocks, boolean window, boolean interrupt) throws Exception {
    long millis = 3000;
    try (VirtualDisk d = VirtualDisk.create(dir.resolve("v.vde"), CreateOptions.ofSize(64L << 20).blockSize(bs)
        .walBlocks(walBlocks))) {
      d.mkdir("/d");
      d.mkdir("/e");
      if (window) {
        d.setCommitWindow(Duration.ofMillis(2));
      }
      TreeMap<String, byte[]> model = new TreeMap<>();
      regDir(model);
      AtomicBoolean stop = new AtomicBoolean();
      List<Thread> readers = new ArrayList<>();
      for (int r = 0; r < 3; r++) {
        int rr = r;
        Thread t = new Thread(() -> readLoop(d, new SplittableRandom(seed * 31 + rr), stop));
        t.start();
        readers.add(t);
      }
      Thread w2 = new Thread(() -> {
        TreeMap<String, byte[]> m2 = new TreeMap<>();
        SplittableRandom r2 = new SplittableRandom(seed + 99);
        try {
          while (!stop.get()) {
            step2(d, r2, m2);
          }
        } catch (Throwable e) {
          java.io.StringWriter sw = new java.io.StringWriter();
          e.printStackTrace(new java.io.PrintWriter(sw));
          problems.add("w2: " + sw);
        }
      });
      w2.start();
      Thread syncer = new Thread(() -> {
        SplittableRandom r3 = new SplittableRandom(seed + 7);
        while (!stop.get()) {
          try {
            if (r3.nextBoolean()) {
              d.sync();
            }
            // About every 5 ms: a device call gives up only after three interrupts of its own, which a read
            // interrupted every millisecond could meet.
            if (interrupt && r3.nextInt(5) == 0) {
              readers.get(r3.nextInt(readers.size())).interrupt();
            }
            Thread.sleep(1);
          } catch (InterruptedException e) {
            return;
          } catch (Throwable e) {
            problems.add("sync: " + e);
          }
        }
      });
      syncer.start();
      SplittableRandom rnd = new SplittableRandom(seed);
      long end = System.currentTimeMillis() + millis;
      while (System.currentTimeMillis() < end && problems.isEmpty()) {
        step(d, rnd, model);
      }
      stop.set(true);
      for (Thread t : readers) {
        t.join();
      }
      w2.join();
      syncer.join();
      assertThat(problems).isEmpty();
      assertThat(d.verify(dev.vde.Progress.NONE).clean()).isTrue();
    }
  }

  static byte[] bytes(SplittableRandom rnd, int n) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) rnd.nextInt();
    }
    return b;
  }

  void step(VirtualDisk d, SplittableRandom rnd, TreeMap<String, byte[]> m) throws Exception {
    String p = "/d/f" + rnd.nextInt(5);
    byte[] cur = m.get(p);
    int op = rnd.nextInt(12);
    if (cur == null && op < 9) {
      op = 0;
    }
    switch (op) {
      case 0, 1 -> {
        byte[] n = bytes(rnd, rnd.nextInt(3) == 0 ? rnd.nextInt(20000) : rnd.nextInt(3000));
        reg(n);
        m.put(p, n);
        regDir(m);
        d.writeFile(p, n);
      }
      case 2, 3, 4 -> {
        int pos = rnd.nextInt(cur.length + 1000);
        byte[] data = bytes(rnd, 1 + rnd.nextInt(1500));
        byte[] n = Arrays.copyOf(cur, Math.max(cur.length, pos + data.length));
        System.arraycopy(data, 0, n, pos, data.length);
        reg(n);
        m.put(p, n);
        d.write(p, pos, data, 0, data.length);
      }
      case 5 -> {
        byte[] data = bytes(rnd, rnd.nextInt(800));
        byte[] n = Arrays.copyOf(cur, cur.length + data.length);
        System.arraycopy(data, 0, n, cur.length, data.length);
        reg(n);
        m.put(p, n);
        d.append(p, data);
      }
      case 6 -> {
        int len = rnd.nextInt(cur.length + 2000);
        byte[] n = Arrays.copyOf(cur, len);
        reg(n);
        m.put(p, n);
        d.truncate(p, len);
      }
      case 7 -> {
        String q = "/d/f" + rnd.nextInt(5);
        if (!q.equals(p)) {
          m.remove(p);
          m.put(q, cur);
          regDir(m);
          d.rename(p, q);
        }
      }
      case 8 -> {
        m.remove(p);
        regDir(m);
        d.delete(p);
      }
      case 9 -> {
        byte[] n = bytes(rnd, 520_000 + rnd.nextInt(200_000));
        reg(n);
        m.put(p, n);
        regDir(m);
        d.writeFile(p, new ByteArrayInputStream(n));
      }
      case 10 -> d.checkpoint();
      default -> {
        byte[] n = bytes(rnd, rnd.nextInt(5000));
        reg(n);
        m.put(p, n);
        regDir(m);
        d.batch(x -> {
          x.writeFile(p, n);
        });
      }
    }
  }

  void step2(VirtualDisk d, SplittableRandom rnd, TreeMap<String, byte[]> m) throws Exception {
    String p = "/e/g" + rnd.nextInt(3);
    byte[] cur = m.get(p);
    int op = rnd.nextInt(6);
    if (cur == null) {
      op = 0;
    }
    switch (op) {
      case 0, 1 -> {
        byte[] n = bytes(rnd, rnd.nextInt(6000));
        reg(n);
        m.put(p, n);
        d.writeFile(p, n);
      }
      case 2, 3 -> {
        int pos = rnd.nextInt(cur.length + 100);
        byte[] data = bytes(rnd, 1 + rnd.nextInt(700));
        byte[] n = Arrays.copyOf(cur, Math.max(cur.length, pos + data.length));
        System.arraycopy(data, 0, n, pos, data.length);
        reg(n);
        m.put(p, n);
        d.write(p, pos, data, 0, data.length);
      }
      case 4 -> {
        int len = rnd.nextInt(cur.length + 10);
        byte[] n = Arrays.copyOf(cur, len);
        reg(n);
        m.put(p, n);
        d.truncate(p, len);
      }
      default -> {
        m.remove(p);
        d.delete(p);
      }
    }
  }

  void readLoop(VirtualDisk d, SplittableRandom rnd, AtomicBoolean stop) {
    while (!stop.get()) {
      String p = rnd.nextInt(4) == 0 ? "/e/g" + rnd.nextInt(3) : "/d/f" + rnd.nextInt(5);
      try {
        switch (rnd.nextInt(6)) {
          case 0 -> check(p, "readFile", d.readFile(p));
          case 1 -> {
            ByteArrayOutputStream o = new ByteArrayOutputStream();
            d.readFile(p, o);
            check(p, "stream", o.toByteArray());
          }
          case 2 -> {
            byte[] b = new byte[800_000];
            int n = d.read(p, 0, b, 0, b.length);
            check(p, "read", Arrays.copyOf(b, Math.max(n, 0)));
          }
          case 3 -> {
            long s = d.stat(p).size();
            if (!sizes.contains(s)) {
              problems.add("stat " + p + " size " + s);
            }
          }
          default -> {
            List<String> names = new ArrayList<>();
            for (DirEntry e : d.list("/d")) {
              names.add(e.path());
              if (e.type() == FileType.FILE && !sizes.contains(e.size())) {
                problems.add("list size " + e.path() + " " + e.size());
              }
            }
            if (!listings.contains(String.join(",", names))) {
              problems.add("listing " + names);
            }
          }
        }
      } catch (java.io.InterruptedIOException e) {
        Thread.interrupted();
      } catch (VdeNotFoundException e) {
        // deleted or renamed meanwhile
      } catch (Throwable e) {
        java.io.StringWriter sw = new java.io.StringWriter();
        e.printStackTrace(new java.io.PrintWriter(sw));
        problems.add(p + ": " + sw);
      }
    }
  }

  void check(String p, String how, byte[] b) {
    if (!states.contains(Key.of(b))) {
      problems.add(how + " " + p + " saw content of " + b.length + " bytes never committed");
    }
  }
}
