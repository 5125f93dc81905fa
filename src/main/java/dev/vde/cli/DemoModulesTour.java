package dev.vde.cli;

import dev.vde.format.Module;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.AdditionOption;
import dev.vde.module.InPlaceAddition;
import dev.vde.module.MigrationOptions;
import dev.vde.module.ModuleOrchestrator;
import dev.vde.module.ModulePlanner;
import dev.vde.module.Tags;
import dev.vde.module.copy.CopyOptions;
import dev.vde.module.copy.CopyResult;
import dev.vde.module.copy.ExtentAwareCopy;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The second half of {@code vde demo}: format modules added online. It shows the analysis table, adds a module
 * by padding claim and one by region addition, then adds Tags the recommended way (a background inode
 * migration) while a writer thread keeps rewriting files, checks that nothing was lost, tags a file, and copies
 * the volume into a new one with one more module, reporting how much less it moved than a naive copy.
 */
final class DemoModulesTour {
  private final PrintStream out;
  private final Stopwatch watch;

  DemoModulesTour(PrintStream out, Stopwatch watch) {
    this.out = out;
    this.watch = watch;
  }

  /**
   * Runs steps 7 to 11 on {@code image}; {@code samples} maps every sample path to the sample, whose bytes are
   * generated again where they are compared.
   */
  boolean run(Path image, Map<String, SampleFiles.Sample> samples, ProgressReporter reporter)
      throws IOException, CliException {
    Map<String, Object> model = new ConcurrentHashMap<>(samples);
    try (VirtualDisk disk = VirtualDisk.open(image, OpenOptions.defaults())) {
      out.println("7. vde module analyze " + image.getFileName() + " tags:");
      ModuleAnalyzeCommand.render(ModulePlanner.analyze(disk, List.of(Module.TAGS)), image)
          .forEach(l -> out.println(indented(l)));
      watch.lap();
      InPlaceAddition.add(disk, List.of(Module.TRANSIT));
      InPlaceAddition.add(disk, List.of(Module.INTEGRITY));
      out.printf("8. added Transit by padding claim (inodes stay %d bytes, %d bytes of padding left) and Integrity by "
          + "region addition (%d blocks), each in one WAL transaction, in %s%n", disk.info().inodeSize(),
          disk.info().paddingBytes(), disk.volume().regions().moduleRegions(Module.INTEGRITY.id()).get(0).blocks(),
          watch.lap());
      migrateWhileWriting(disk, model, reporter);
      String tagged = model.keySet().stream().sorted().findFirst().orElseThrow();
      Tags.set(disk, tagged, "owner", "demo");
      Tags.set(disk, tagged, "reviewed", "yes");
      out.println("10. vde tag ls " + tagged + ": " + Tags.list(disk, tagged));
      Path copy = image.resolveSibling(DemoCommand.COPY_NAME);
      CopyResult r = ExtentAwareCopy.copy(disk, copy, CopyOptions.defaults()
          .modulesToAdd(EnumSet.of(Module.REPLICATION)).verify(true).progress(reporter));
      out.printf(Locale.ROOT, "11. copied it to %s adding Replication (option 4, verified): %,d blocks copied, "
              + "%,d free blocks skipped, %.1fx less than a naive copy, in %s%n", copy.getFileName(),
          r.blocksCopied(), r.blocksSkipped(), r.speedupOverNaive(), watch.lap());
    }
    return true;
  }

  /**
   * Step 9: the recommended option for Tags is a migration; it runs in this thread while another rewrites files,
   * and every file is then compared with what was last written to it.
   */
  private void migrateWhileWriting(VirtualDisk disk, Map<String, Object> model, ProgressReporter reporter)
      throws IOException, CliException {
    List<String> paths = new ArrayList<>(model.keySet());
    paths.sort(null);
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<IOException> writerFailure = new AtomicReference<>();
    int[] rewrites = {0};
    Thread writer = new Thread(() -> {
      SplittableRandom rnd = new SplittableRandom(7);
      try {
        while (!stop.get()) {
          String p = paths.get(rnd.nextInt(paths.size()));
          byte[] b = new byte[rnd.nextInt(1, 4096)];
          for (int i = 0; i < b.length; i++) {
            b[i] = (byte) rnd.nextInt(256);
          }
          disk.writeFile(p, b);
          model.put(p, b);
          rewrites[0]++;
        }
      } catch (IOException e) {
        writerFailure.set(e);
      }
    }, "demo-writer");
    writer.start();
    ModuleOrchestrator.Outcome o;
    try {
      o = ModuleOrchestrator.executeRecommended(disk, List.of(Module.TAGS), new ModuleOrchestrator.Controls(null,
          MigrationOptions.defaults().listener(MigrationRunner.shownBy(reporter)), CopyOptions.defaults()));
    } finally {
      stop.set(true);
      try {
        writer.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (writerFailure.get() != null) {
      throw writerFailure.get();
    }
    int checked = 0;
    for (Map.Entry<String, Object> e : model.entrySet()) {
      byte[] expected = e.getValue() instanceof SampleFiles.Sample s ? s.content() : (byte[]) e.getValue();
      if (!Arrays.equals(expected, disk.readFile(e.getKey()))) {
        throw new CliException(e.getKey() + " lost a write during the migration; this is a bug in vde, please "
            + "report it");
      }
      checked++;
    }
    out.printf(Locale.ROOT, "9. added Tags the recommended way (%s): %,d inodes grown %d -> %d bytes online in %.2f s "
            + "while a writer thread rewrote files %,d times; all %,d files match what was last written%n",
        o.option() == AdditionOption.MIGRATE ? "background inode migration" : o.option().cliName(),
        o.migration() == null ? 0 : o.migration().totalInodes(), 320, disk.info().inodeSize(),
        o.migration() == null ? 0.0 : o.migration().durationMillis() / 1000.0, rewrites[0], checked);
    watch.lap();
  }

  private static String indented(String line) {
    return line.isEmpty() ? line : "     " + line;
  }
}
