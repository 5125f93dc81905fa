package dev.vde.bench.jmh;

import dev.vde.VdeCorruptedException;
import dev.vde.format.BlockCodec;
import dev.vde.format.BlockType;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** The block trailer: sealing (XXH3 of the payload, tag, generation) and verifying one 4 KiB block. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ChecksumBenchmark {
  private byte[] block;
  private byte[] sealed;

  @Setup
  public void setup() {
    block = new byte[4096];
    SplittableRandom r = new SplittableRandom(1);
    for (int i = 0; i < block.length; i++) {
      block[i] = (byte) r.nextInt();
    }
    sealed = block.clone();
    BlockCodec.seal(sealed, BlockType.DATA, 1);
  }

  @Benchmark
  public long seal4k() {
    return BlockCodec.seal(block, BlockType.DATA, 7);
  }

  @Benchmark
  public int verify4k() throws VdeCorruptedException {
    return BlockCodec.verify(sealed, 42, BlockType.DATA, "bench");
  }
}
