package dev.vde.reliability;

import dev.vde.format.Module;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InPlaceAddition;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.module.Tags;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.SeededBytes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The small valid images the fuzzer starts from and the corruption sweep damages: 512-byte blocks, 96-160 KiB,
 * each exercising a different set of structures. {@link #main} writes them as the seed corpus of
 * {@link ImageFuzzTest} (the files are committed, named {@code *.img} because the repository ignores
 * {@code *.vde}; docs/RELIABILITY.md has the command that regenerates them).
 *
 * <p>Every seed also comes with the history of models its operations went through, which the sweep uses to
 * judge damage to a pending WAL (see {@link Seed#history}).
 */
final class FuzzCorpus {
  /** Where Jazzer's regression mode looks for the inputs of {@code ImageFuzzTest#anyImage...}. */
  static final String INPUTS = "src/test/resources/dev/vde/reliability/ImageFuzzTestInputs/"
      + ImageFuzzTest.TARGET;

  private FuzzCorpus() {}

  /**
   * A seed image with the model it must show and, for an image left with a pending WAL, every model since the
   * last checkpoint ({@code history}, oldest first, ending with {@code model}).
   */
  record Seed(String name, byte[] image, VolumeModel model, List<VolumeModel> history) {}

  static Map<String, Seed> seeds() throws IOException {
    Map<String, Seed> out = new LinkedHashMap<>();
    for (Seed s : List.of(plain(), pendingWal(), midMigration(), tagsAndFields())) {
      out.put(s.name(), s);
    }
    return out;
  }

  private static CreateOptions small(long kib) {
    return CreateOptions.ofSize(kib * 1024).blockSize(512).inodeCount(32).walBlocks(64).label("fuzz seed");
  }

  /** Directories, files at block boundaries, and one file past 8 extents (an XTNT block). */
  static Seed plain() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("plain");
    VolumeModel m = new VolumeModel();
    try (VirtualDisk d = VirtualDisk.create(dev, small(96))) {
      populate(d, m);
    }
    return new Seed("plain.img", dev.snapshot(), m, List.of(m.copy()));
  }

  private static void populate(VirtualDisk d, VolumeModel m) throws IOException {
    d.mkdirs("/a/b");
    m.tree.mkdir("/a");
    m.tree.mkdir("/a/b");
    put(d, m, "/a/b/one", SeededBytes.bytes(1, 496));
    put(d, m, "/a/two", SeededBytes.bytes(2, 1100));
    put(d, m, "/empty", new byte[0]);
    put(d, m, "/frag", new byte[0]);
    for (int i = 0; i < 10; i++) {
      // Whole-block appends interleaved with other files make every block of /frag its own extent.
      byte[] chunk = SeededBytes.bytes(10 + i, 496);
      d.append("/frag", chunk);
      m.tree.append("/frag", chunk);
      put(d, m, "/s" + i, SeededBytes.bytes(30 + i, 20));
    }
  }

  private static void put(VirtualDisk d, VolumeModel m, String p, byte[] data) throws IOException {
    d.writeFile(p, data);
    m.writeFile(p, data);
  }

  /** The image of a volume that crashed with several committed transactions still only in the WAL. */
  static Seed pendingWal() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("pending wal");
    VolumeModel m = new VolumeModel();
    List<VolumeModel> history = new ArrayList<>();
    VirtualDisk d = VirtualDisk.create(dev, small(96));
    d.mkdir("/w");
    m.tree.mkdir("/w");
    put(d, m, "/w/base", SeededBytes.bytes(40, 700));
    d.checkpoint();
    history.add(m.copy());
    put(d, m, "/w/new", SeededBytes.bytes(41, 300));
    history.add(m.copy());
    d.append("/w/base", SeededBytes.bytes(42, 50));
    m.tree.append("/w/base", SeededBytes.bytes(42, 50));
    history.add(m.copy());
    d.rename("/w/new", "/renamed");
    m.rename("/w/new", "/renamed");
    history.add(m.copy());
    d.mkdir("/w/sub");
    m.tree.mkdir("/w/sub");
    history.add(m.copy());
    // No close: what is durable now is what a crash leaves, the last transactions only in the WAL.
    byte[] image = dev.durableSnapshot();
    d.close();
    return new Seed("pending-wal.img", image, m, history);
  }

  /** A Tags migration cancelled after a few checkpoints: pending, with INOM, module regions and MCHK records. */
  static Seed midMigration() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("mid migration");
    VolumeModel m = new VolumeModel();
    try (VirtualDisk d = VirtualDisk.create(dev, small(160))) {
      populate(d, m);
      MigrationControl control = new MigrationControl(0, false);
      int[] reports = {0};
      InodeMigration.start(d, List.of(Module.TAGS), MigrationOptions.defaults().checkpointEvery(2).control(control)
          .listener(p -> {
            if (++reports[0] >= 3) {
              control.cancel();
            }
          }));
      if (!InodeMigration.isPending(d)) {
        throw new IllegalStateException("the seed's migration finished instead of staying pending");
      }
      m.pending = Module.TAGS.bit();
    }
    return new Seed("mid-migration.img", dev.snapshot(), m, List.of(m.copy()));
  }

  /** Tags active from creation with tags set, and Transit claimed from padding with values set. */
  static Seed tagsAndFields() throws IOException {
    PowerLossDevice dev = new PowerLossDevice("tags");
    VolumeModel m = new VolumeModel();
    try (VirtualDisk d = VirtualDisk.create(dev, small(128).module(Module.TAGS))) {
      m.addModules(List.of(Module.TAGS));
      d.mkdir("/t");
      m.tree.mkdir("/t");
      put(d, m, "/t/x", SeededBytes.bytes(50, 600));
      put(d, m, "/t/y", SeededBytes.bytes(51, 10));
      Tags.set(d, "/t/x", "color", "blue");
      m.setTag("/t/x", "color", "blue");
      Tags.set(d, "/t/x", "size", "large");
      m.setTag("/t/x", "size", "large");
      Tags.set(d, "/t/y", "k", "v");
      m.setTag("/t/y", "k", "v");
      InPlaceAddition.add(d, List.of(Module.TRANSIT));
      m.addModules(List.of(Module.TRANSIT));
      d.writeModuleField("/t/y", Module.TRANSIT, new byte[] {42});
      m.setTransit("/t/y", (byte) 42);
    }
    return new Seed("tags.img", dev.snapshot(), m, List.of(m.copy()));
  }

  /** Writes the seeds to {@link #INPUTS} (relative to the working directory, the project root). */
  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args.length > 0 ? args[0] : INPUTS);
    Files.createDirectories(dir);
    for (Seed s : seeds().values()) {
      Files.write(dir.resolve(s.name()), s.image());
      System.out.println("wrote " + dir.resolve(s.name()) + " (" + s.image().length + " bytes)");
    }
  }
}
