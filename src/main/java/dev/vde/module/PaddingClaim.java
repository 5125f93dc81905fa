package dev.vde.module;

import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import java.util.ArrayList;
import java.util.List;

/**
 * Option 2: give a module inode bytes by claiming the free padding at the end of every inode. No inode is
 * rewritten: padding is always written as zero, and zero is the initial value of every module field, so the new
 * layout descriptor alone makes the field exist in every inode (lazy initialization). Pure planning here; the
 * write is {@link InPlaceAddition}.
 */
public final class PaddingClaim {
  private PaddingClaim() {}

  /** Whether {@code m}'s inode fields fit in the padding of {@code layout}; no I/O. */
  public static boolean canClaimPadding(InodeLayout layout, Module m) {
    return layout.canClaim(m);
  }

  /** One row of {@link #inventory}: can {@code module} claim padding, and how much padding would be left. */
  public record Fit(Module module, boolean fits, int paddingNow, int paddingAfter) {}

  /**
   * For every inactive module with inode fields, whether it fits in the current padding and what would remain
   * after adding it, so chains (RAID, then Compression) can be planned.
   */
  public static List<Fit> inventory(InodeLayout layout, long manifest) {
    List<Fit> out = new ArrayList<>();
    int pad = layout.paddingBytes();
    for (Module m : Module.values()) {
      if ((manifest & m.bit()) != 0 || m.inodeBytes() == 0) {
        continue;
      }
      boolean fits = layout.canClaim(m);
      out.add(new Fit(m, fits, pad, fits ? pad - m.inodeBytes() : pad));
    }
    return out;
  }

  /**
   * Why {@code modules} cannot claim padding in {@code layout}, or null when they can: the padding is too small
   * for their fields, or the descriptor has no room for as many more fields (it holds at most
   * {@link InodeLayout#MAX_FIELDS}, those of modules this engine does not know included).
   */
  public static String claimProblem(InodeLayout layout, List<Module> modules) {
    if (claimAll(layout, modules) != null) {
      return null;
    }
    int bytes = modules.stream().mapToInt(Module::inodeBytes).sum();
    long fields = modules.stream().filter(m -> m.inodeBytes() > 0).count();
    if (bytes <= layout.paddingBytes() && layout.fields().size() + fields > InodeLayout.MAX_FIELDS) {
      return "the inode layout descriptor holds at most " + InodeLayout.MAX_FIELDS + " fields and has "
          + layout.fields().size() + " (modules this engine does not know included), no room for " + fields
          + " more; add them with the newer engine that wrote the volume";
    }
    return "the modules need " + bytes + " inode bytes, the padding has " + layout.paddingBytes();
  }

  /**
   * The layout after claiming padding for {@code modules} in order, or null when one of them does not fit.
   */
  public static InodeLayout claimAll(InodeLayout layout, List<Module> modules) {
    InodeLayout l = layout;
    for (Module m : modules) {
      if (m.inodeBytes() == 0) {
        continue;
      }
      if (!l.canClaim(m)) {
        return null;
      }
      l = l.claim(m);
    }
    return l;
  }
}
