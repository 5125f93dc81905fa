package dev.vde.testing;

import dev.vde.Progress;
import dev.vde.check.Problem;
import dev.vde.check.VerifyReport;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import java.io.IOException;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Small volumes on a {@link PowerLossDevice} for tests: 4 MiB so a whole crash-point sweep stays cheap, in
 * 4096- and 512-byte block variants (512 is the smallest block size, where every structure spans the most blocks).
 */
public final class TestVolumes {
  public static final long SIZE = 4L * 1024 * 1024;
  public static final int BS_4K = 4096;
  public static final int BS_512 = 512;

  private TestVolumes() {}

  /** A device and the disk open on it. */
  public record Volume(PowerLossDevice device, VirtualDisk disk) implements AutoCloseable {
    @Override
    public void close() throws IOException {
      disk.close();
    }
  }

  public static CreateOptions options(int blockSize) {
    return CreateOptions.ofSize(SIZE).blockSize(blockSize).label("test");
  }

  /** A fresh 4 MiB volume with the given block size on a new {@link PowerLossDevice}. */
  public static Volume create(int blockSize) throws IOException {
    PowerLossDevice dev = new PowerLossDevice("test volume bs=" + blockSize);
    return new Volume(dev, VirtualDisk.create(dev, options(blockSize)));
  }

  /** Opens {@code dev} read-write. */
  public static VirtualDisk open(PowerLossDevice dev) throws IOException {
    return VirtualDisk.open(dev, OpenOptions.defaults());
  }

  /**
   * Closes {@code volume}, drops every write that was not synced (a clean close must leave nothing that matters
   * unsynced), reopens the surviving image and fails unless {@code verify} reports nothing. Returns the reopened
   * volume, which the caller closes.
   */
  public static Volume closeAndVerify(Volume volume) throws IOException {
    volume.disk().close();
    PowerLossDevice survivor = volume.device().powerLoss(KeepPolicy.NONE);
    VirtualDisk reopened = open(survivor);
    try {
      assertClean(reopened.verify(Progress.NONE), "after close and reopen of " + volume.device().describe());
    } catch (AssertionError | IOException | RuntimeException e) {
      closeQuietly(reopened);
      throw e;
    }
    return new Volume(survivor, reopened);
  }

  /** Fails with every problem listed when the report is not clean. */
  public static void assertClean(VerifyReport report, String context) {
    if (!report.clean()) {
      throw new AssertionError("verify found " + report.problems().size() + " problem(s) " + context + ":\n  "
          + describe(report.problems()));
    }
  }

  public static String describe(List<Problem> problems) {
    return problems.stream().map(Problem::toString).collect(Collectors.joining("\n  "));
  }

  /** Closes a disk that a test is done with, ignoring failures because the test's own verdict matters more. */
  public static void closeQuietly(VirtualDisk disk) {
    if (disk == null) {
      return;
    }
    try {
      disk.close();
    } catch (IOException | RuntimeException ignored) {
      // The disk is abandoned either way; the assertion that led here is the result worth reporting.
    }
  }
}
