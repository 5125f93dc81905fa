package dev.vde.bench;

import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Source volumes for the migration scenarios: no modules (320-byte inodes), {@code n} inodes of which nearly all
 * are in use. vde initializes inode-table blocks lazily, so only used inodes make the table that a migration
 * copies; the files are created empty, 1000 to a directory, one {@link VirtualDisk#batch} per directory.
 * Built once per run and shared by the migration and online-impact scenarios (copied before each use).
 */
final class MigrationImages {
  static final int FILES_PER_DIR = 1000;
  /** Inodes left free so the last creations never hit a full table. */
  static final int SLACK = 8;

  record Base(Path image, long inodeCount, long inodesUsed, double buildSeconds, long filesCreated) {}

  private MigrationImages() {}

  static long volumeBytes(long n) {
    return Math.max(1L << 30, n * 4096L);
  }

  /** The base image for {@code n} inodes under {@code dir}, built on first use. */
  static Base base(Path dir, long n) throws IOException {
    Files.createDirectories(dir);
    Path image = dir.resolve("base-" + n + ".vde");
    Path done = dir.resolve("base-" + n + ".done");
    if (Files.exists(done) && Files.exists(image)) {
      String[] f = Files.readString(done).strip().split(" ");
      return new Base(image, n, Long.parseLong(f[0]), Double.parseDouble(f[1]), Long.parseLong(f[2]));
    }
    Files.deleteIfExists(image);
    long t0 = System.nanoTime();
    long used;
    long created = 0;
    try (VirtualDisk d = VirtualDisk.create(image, CreateOptions.ofSize(volumeBytes(n)).inodeCount(n))) {
      used = d.info().inodesUsed();
      int dirNo = 0;
      while (used + 2 <= n - SLACK) {
        int files = (int) Math.min(FILES_PER_DIR, n - SLACK - used - 1);
        String dirPath = "/d" + dirNo++;
        d.batch(x -> {
          x.mkdir(dirPath);
          for (int i = 0; i < files; i++) {
            x.writeFile(dirPath + "/f" + i, new byte[0]);
          }
        });
        used += 1 + files;
        created += 1 + files;
      }
      used = d.info().inodesUsed();
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    Files.writeString(done, used + " " + secs + " " + created + "\n");
    return new Base(image, n, used, secs, created);
  }
}
