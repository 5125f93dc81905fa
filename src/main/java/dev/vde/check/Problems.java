package dev.vde.check;

import dev.vde.VdeCorruptedException;
import java.util.ArrayList;
import java.util.List;

/**
 * Collects the verifier's findings. A second walk over structures already checked (to re-derive extent lists, say)
 * reports into a {@link #discarding()} sink so that nothing is reported twice.
 */
class Problems {
  private final List<Problem> found = new ArrayList<>();
  private final boolean keep;

  Problems() {
    this(true);
  }

  private Problems(boolean keep) {
    this.keep = keep;
  }

  /** A sink that drops everything. */
  static Problems discarding() {
    return new Problems(false);
  }

  void add(long blockNo, String structure, String message) {
    if (keep) {
      found.add(new Problem(blockNo, structure, message));
    }
  }

  /**
   * Records a damage the engine's decoders detected. The exception's message already starts with
   * "block N (structure): ", which {@link Problem#toString} adds again, so that prefix is dropped here.
   */
  void add(VdeCorruptedException e, String context) {
    String msg = e.getOriginalMessage();
    // Built exactly as VdeCorruptedException builds it (default locale), so the comparison is exact.
    String prefix = e.getBlockNo() < 0 ? e.getStructure() + ": "
        : String.format("block %,d (%s): ", e.getBlockNo(), e.getStructure());
    if (msg.startsWith(prefix)) {
      msg = msg.substring(prefix.length());
    }
    add(e.getBlockNo(), e.getStructure(), context == null ? msg : msg + " (" + context + ")");
  }

  /** Appends what another collector found, in its order. */
  void addAll(Problems other) {
    if (keep) {
      found.addAll(other.found);
    }
  }

  List<Problem> list() {
    return found;
  }
}
