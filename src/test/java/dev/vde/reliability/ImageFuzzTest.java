package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.vde.Progress;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.TestVolumes;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Fuzzed images: whatever bytes a host file holds, opening it (read-only and writable, which recovers), listing and
 * reading every file, verify, info and close either work or fail with a {@link dev.vde.VdeException}; never a
 * raw JDK exception or error, a hang, or an allocation out of proportion to the image ({@link ImageProbe}).
 *
 * <p>Every block carries an XXH3 checksum, which random mutations practically never satisfy, so a fuzzer that
 * only flipped bytes would test the checksum check and nothing behind it. The target therefore probes each input
 * twice: as given, and with every block whose trailer names a known type resealed (checksum recomputed), which
 * lets mutations reach the decoders of superblock, region directory, bitmap, inodes, directories, extents, WAL
 * and migration checkpoints.
 *
 * <p>{@link #anyImage_opensCorrectlyOrFailsWithAVdeException} is a Jazzer {@code @FuzzTest}: the default run
 * replays the committed corpus in {@code src/test/resources/dev/vde/reliability/ImageFuzzTestInputs/<method>/}
 * (seeds from {@link FuzzCorpus}, plus any finding added there); {@code mvn test -Pfuzz} fuzzes it with
 * {@code JAZZER_FUZZ=1} for a bounded time.
 * {@link #seededHavocMutations_ofTheCorpus_openCorrectlyOrFailWithAVdeException} is this project's own seeded
 * random-mutation fuzzer (no coverage guidance), so that every default run also tries a few thousand new inputs.
 * Each probe runs in a worker thread with a time limit
 * ({@code -Dvde.fuzz.timeoutSeconds}, default 10), so a hang is a finding rather than a stuck build.
 */
class ImageFuzzTest {
  static final String TARGET = "anyImage_opensCorrectlyOrFailsWithAVdeException";
  /** Inputs larger than this are skipped: they only make each execution slower, not more interesting. */
  static final int MAX_INPUT = 1 << 20;
  static final int MUTATIONS = Integer.getInteger("vde.fuzz.mutations", 5000);
  static final long SEED = Long.getLong("vde.reliability.seed", 0x5EED_2025L);
  private static final AtomicLong EXECUTIONS = new AtomicLong();

  @AfterAll
  static void printExecutions() {
    System.out.printf("[reliability] fuzz target %s: %,d executions in this JVM%n", TARGET, EXECUTIONS.get());
  }

  @FuzzTest(maxDuration = "120s")
  void anyImage_opensCorrectlyOrFailsWithAVdeException(byte[] image) {
    if (image.length > MAX_INPUT) {
      return;
    }
    EXECUTIONS.incrementAndGet();
    List<String> failures = new ArrayList<>();
    for (byte[] variant : List.of(image, resealed(image, 512))) {
      for (boolean readOnly : new boolean[] {true, false}) {
        ImageProbe.Outcome o = ImageProbe.probe(variant, readOnly);
        for (String f : o.failures) {
          failures.add((variant == image ? "as given" : "resealed") + (readOnly ? ", read-only: " : ", writable: ")
              + f);
        }
      }
    }
    if (!failures.isEmpty()) {
      throw new AssertionError("image of " + image.length + " bytes: " + String.join("\n", failures));
    }
  }

  /**
   * A copy of {@code image} in which every {@code blockSize} block whose trailer tag names a block type gets a
   * freshly computed checksum (its tag and generation kept).
   */
  static byte[] resealed(byte[] image, int blockSize) {
    byte[] out = image.clone();
    byte[] block = new byte[blockSize];
    for (int off = 0; off + blockSize <= out.length; off += blockSize) {
      System.arraycopy(out, off, block, 0, blockSize);
      BlockType t = BlockType.fromTag(BlockCodec.storedTag(block));
      if (t != null) {
        BlockCodec.sealAt(out, off, blockSize, t, BlockCodec.storedGeneration(block));
      }
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------------ corpus

  static Path inputsDir() {
    URL url = ImageFuzzTest.class.getResource("ImageFuzzTestInputs/" + TARGET);
    if (url == null) {
      throw new AssertionError("the seed corpus ImageFuzzTestInputs/" + TARGET + " is not on the test classpath");
    }
    try {
      return Path.of(url.toURI());
    } catch (URISyntaxException e) {
      throw new AssertionError(e);
    }
  }

  static Map<String, byte[]> committedSeeds() throws IOException {
    Map<String, byte[]> out = new TreeMap<>();
    try (Stream<Path> files = Files.list(inputsDir())) {
      for (Path p : (Iterable<Path>) files::iterator) {
        out.put(p.getFileName().toString(), Files.readAllBytes(p));
      }
    }
    return out;
  }

  @Test
  void seedCorpus_isSmall_andEverySeedOpensClean_withTheContentItsGeneratorWrote() throws IOException {
    Map<String, byte[]> committed = committedSeeds();
    Map<String, FuzzCorpus.Seed> generated = FuzzCorpus.seeds();
    assertThat(committed.keySet()).as("the committed corpus holds every generated seed")
        .containsAll(generated.keySet());
    for (Map.Entry<String, byte[]> e : committed.entrySet()) {
      assertThat(e.getValue().length).as(e.getKey() + " stays a small seed").isLessThan(200 * 1024);
      FuzzCorpus.Seed seed = generated.get(e.getKey());
      if (seed == null) {
        // A finding added to the corpus by hand: the fuzz target replays it; nothing more to know about it.
        continue;
      }
      try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(e.getValue()), OpenOptions.readOnlyOptions())) {
        TestVolumes.assertClean(d.verify(Progress.NONE), "seed " + e.getKey());
        assertThat(VolumeModel.readFrom(d).diff(seed.model())).as("seed " + e.getKey()).isEmpty();
      }
    }
  }

  // ------------------------------------------------------------------------------------------------ own fuzzer

  /**
   * A seeded random-mutation fuzzer without coverage guidance, labelled as such: {@link #MUTATIONS} inputs
   * ({@code -Dvde.fuzz.mutations}), each a corpus seed with 1-8 random mutations (bit flips, interesting values
   * in 1, 2, 4 or 8 bytes, a block copied over another, a block zeroed, the image truncated or extended), most
   * then resealed so they reach the decoders. Seed {@code -Dvde.reliability.seed}.
   */
  @Test
  void seededHavocMutations_ofTheCorpus_openCorrectlyOrFailWithAVdeException() throws IOException {
    List<byte[]> seeds = new ArrayList<>(committedSeeds().values());
    SplittableRandom rnd = new SplittableRandom(SEED);
    Findings f = new Findings("seeded havoc mutations, seed " + SEED + " (-Dvde.reliability.seed)");
    long opened = 0;
    for (int i = 0; i < MUTATIONS; i++) {
      byte[] input = havoc(seeds.get(rnd.nextInt(seeds.size())), rnd);
      if (rnd.nextInt(4) != 0) {
        input = resealed(input, 512);
      }
      ImageProbe.Outcome o = ImageProbe.probe(input, rnd.nextBoolean());
      if (o.opened) {
        opened++;
      }
      List<String> msgs = new ArrayList<>();
      for (String m : o.failures) {
        msgs.add("mutation #" + i + " (replay: seed " + SEED + ", input " + i + "): " + m);
      }
      f.add(msgs);
    }
    System.out.printf("[reliability] havoc: %,d mutated images, %,d of them opened%n", f.cases(), opened);
    assertThat(opened).as("mutations that still open exercise more than the superblock check").isPositive();
    f.report("mutated images", MUTATIONS);
  }

  private static final long[] INTERESTING = {0, 1, -1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFFL,
      0x80000000L, 0xFFFFFFFFL, Long.MAX_VALUE, Long.MIN_VALUE, 512, 4096, 63, 64, 65};

  static byte[] havoc(byte[] seed, SplittableRandom rnd) {
    byte[] b = seed.clone();
    int n = 1 + rnd.nextInt(8);
    for (int k = 0; k < n; k++) {
      switch (rnd.nextInt(7)) {
        case 0 -> {
          int at = rnd.nextInt(b.length);
          b[at] ^= (byte) (1 << rnd.nextInt(8));
        }
        case 1, 2 -> {
          int width = 1 << rnd.nextInt(4);
          int at = rnd.nextInt(b.length - width);
          long v = INTERESTING[rnd.nextInt(INTERESTING.length)];
          for (int j = 0; j < width; j++) {
            b[at + j] = (byte) (v >>> (8 * j));
          }
        }
        case 3 -> {
          int blocks = b.length / 512;
          System.arraycopy(b, 512 * rnd.nextInt(blocks), b, 512 * rnd.nextInt(blocks), 512);
        }
        case 4 -> {
          int at = 512 * rnd.nextInt(b.length / 512);
          Arrays.fill(b, at, at + 512, (byte) 0);
        }
        case 5 -> b = Arrays.copyOf(b, Math.max(512, b.length - 512 * (1 + rnd.nextInt(8))));
        default -> b = Arrays.copyOf(b, b.length + 512 * (1 + rnd.nextInt(4)));
      }
    }
    return b;
  }
}
