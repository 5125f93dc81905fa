package dev.vde.check;

import java.util.List;

/** Everything the verifier found; {@link #clean()} when nothing. */
public record VerifyReport(List<Problem> problems, long blocksChecked, long inodesChecked, long filesChecked) {
  public VerifyReport {
    problems = List.copyOf(problems);
  }

  public boolean clean() {
    return problems.isEmpty();
  }
}
