package dev.vde.cli;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The demo's sample data: files of mixed sizes (empty, small, medium, a few MiB) spread over nested folders,
 * with content that is a pure function of the seed and the file's number. Nothing is kept in memory; the demo
 * regenerates a file's bytes when it writes it and again when it checks what it reads back.
 */
final class SampleFiles {
  static final int KIB = 1024;
  static final int MIB = 1024 * KIB;

  private static final String[] FOLDERS = {
      "/docs", "/docs/reports/2023", "/docs/reports/2024", "/docs/notes",
      "/photos/2023/summer", "/photos/2024/winter", "/photos/2024/spring/hiking",
      "/projects/alpha/src", "/projects/alpha/test", "/projects/beta/src/main", "/projects/beta/assets",
      "/music/jazz", "/music/rock/live", "/archive/old/deep/nested/folder", "/inbox"
  };
  private static final String[] WORDS = {
      "alpha", "brook", "cedar", "delta", "ember", "fjord", "grove", "harbor", "island", "juniper", "kestrel",
      "lagoon", "meadow", "nectar", "orchid", "prairie", "quartz", "river", "summit", "tundra", "valley", "willow"
  };
  private static final String[] TEXT_EXTENSIONS = {"txt", "md", "csv"};
  private static final String[] BINARY_EXTENSIONS = {"bin", "jpg", "dat", "zip"};

  /** One sample file. Text files hold readable lines, others random bytes. */
  record Sample(String path, int size, long seed, boolean text) {
    byte[] content() {
      byte[] data = new byte[size];
      SplittableRandom random = new SplittableRandom(seed);
      if (text) {
        fillWithText(data, random);
      } else {
        random.nextBytes(data);
      }
      return data;
    }

    private static void fillWithText(byte[] data, SplittableRandom random) {
      StringBuilder text = new StringBuilder(data.length + 64);
      int line = 1;
      while (text.length() < data.length) {
        text.append(line++).append(':');
        for (int w = 0; w < 8; w++) {
          text.append(' ').append(WORDS[random.nextInt(WORDS.length)]);
        }
        text.append('\n');
      }
      byte[] bytes = text.toString().getBytes(StandardCharsets.US_ASCII);
      System.arraycopy(bytes, 0, data, 0, data.length);
    }
  }

  private SampleFiles() {}

  static List<String> folders() {
    return List.of(FOLDERS);
  }

  /** {@code count} samples from {@code seed}; the same arguments always give the same files. */
  static List<Sample> generate(int count, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    List<Sample> samples = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      String folder = FOLDERS[random.nextInt(FOLDERS.length)];
      boolean text = random.nextInt(3) == 0;
      String[] extensions = text ? TEXT_EXTENSIONS : BINARY_EXTENSIONS;
      String name = WORDS[random.nextInt(WORDS.length)] + "-" + i + "." + extensions[random.nextInt(extensions.length)];
      samples.add(new Sample(folder + "/" + name, size(i, random), random.nextLong(), text));
    }
    return samples;
  }

  /**
   * Mostly small files, as real trees have, some medium ones, a few large ones; file 0 is empty and file 1 is
   * the largest, so every run covers both ends.
   */
  private static int size(int index, SplittableRandom random) {
    if (index == 0) {
      return 0;
    }
    if (index == 1) {
      return 4 * MIB;
    }
    int bucket = random.nextInt(100);
    if (bucket < 5) {
      return 0;
    } else if (bucket < 65) {
      return random.nextInt(1, 16 * KIB);
    } else if (bucket < 90) {
      return random.nextInt(16 * KIB, 256 * KIB);
    } else if (bucket < 98) {
      return random.nextInt(256 * KIB, MIB);
    }
    return random.nextInt(MIB, 4 * MIB);
  }
}
