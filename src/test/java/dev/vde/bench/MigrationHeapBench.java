package dev.vde.bench;

import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationResult;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
/**
 * Heap of a large migration, measured in its own JVM: {@code build FILE N} makes a volume with N inodes in use
 * (empty files, 999 per directory; needs a few GiB of heap for the directory caches), then {@code migrate FILE},
 * run with {@code -Xmx64m}, adds Tags by migration and prints the peak heap in use. The migration streams the
 * inode table, so its heap does not grow with the inode count.
 */
public final class MigrationHeapBench {
  private MigrationHeapBench() {}

  public static void main(String[] a) throws Exception {
    Path p = Path.of(a[1]);
    if (a[0].equals("build")) {
      Files.deleteIfExists(p);
      long n = Long.parseLong(a[2]);
      try (VirtualDisk d = VirtualDisk.create(p, CreateOptions.ofSize(16L << 30).inodeCount(n + 16))) {
        long t0 = System.nanoTime();
        for (int k = 0; k < n / 1000; k++) { final int kk = k; d.mkdir("/d" + k); d.batch(x -> { for (int i = 0; i < 999; i++) x.writeFile("/d" + kk + "/f" + i, new byte[0]); }); if (k % 1000 == 0) System.out.println(k + " dirs " + (System.nanoTime()-t0)/1e9 + " s"); }
      }
      return;
    }
    long t0 = System.nanoTime();
    MigrationResult r;
    try (VirtualDisk d = VirtualDisk.open(p)) {
      r = InodeMigration.start(d, List.of(Module.TAGS), MigrationOptions.defaults());
    }
    long peak = 0;
    for (MemoryPoolMXBean b : ManagementFactory.getMemoryPoolMXBeans()) if (b.getType() == MemoryType.HEAP) peak += b.getPeakUsage().getUsed();
    System.out.printf("migrated %,d inodes in %.1f s; max heap %d MiB; peak heap used (sum of pool peaks) %.1f MiB%n", r.totalInodes(), (System.nanoTime()-t0)/1e9, Runtime.getRuntime().maxMemory() >> 20, peak / 1048576.0);
  }
}
