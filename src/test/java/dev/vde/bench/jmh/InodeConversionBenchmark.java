package dev.vde.bench.jmh;

import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import dev.vde.inode.InodeConverter;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * {@link InodeConverter#convert} from the module-less layout (320 bytes) to the one with Tags (448 bytes): one
 * record, and the 12 records of one 4 KiB inode-table block.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class InodeConversionBenchmark {
  private InodeConverter converter;
  private byte[] src;
  private byte[] dst;
  private int fromSize;
  private int toSize;
  private int perBlock;

  @Setup
  public void setup() {
    InodeLayout from = InodeLayout.canonical(0);
    InodeLayout to = InodeLayout.canonical(Module.TAGS.bit());
    converter = new InodeConverter(from, to);
    fromSize = from.inodeSize();
    toSize = to.inodeSize();
    perBlock = (4096 - 16) / fromSize;
    src = new byte[4096];
    SplittableRandom r = new SplittableRandom(2);
    for (int i = 0; i < src.length; i++) {
      src[i] = (byte) r.nextInt();
    }
    for (int k = 0; k < perBlock; k++) {
      src[k * fromSize + 4] = 1;
    }
    dst = new byte[perBlock * toSize];
  }

  @Benchmark
  public byte[] convertOne() {
    converter.convert(src, 0, dst, 0);
    return dst;
  }

  @Benchmark
  public byte[] convertBlock() {
    for (int k = 0; k < perBlock; k++) {
      converter.convert(src, k * fromSize, dst, k * toSize);
    }
    return dst;
  }
}
