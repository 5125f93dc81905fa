package dev.vde.module;

import dev.vde.alloc.FreeSpaceScanner;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import java.util.ArrayList;
import java.util.List;

/**
 * Where the regions of one or more modules would go (option 1), computed without writing anything: first fit
 * over a copy of the allocator's view, one contiguous run per region, sized by {@link Module.Region#blocksFor}.
 *
 * @param placements the planned regions, in order (empty when none are needed)
 * @param feasible whether every region found a run
 * @param failedRegion the first region that found no run, or null
 * @param largestFreeRun the longest free run at planning time
 */
public record RegionPlan(List<RegionDirectory.Entry> placements, boolean feasible, String failedRegion,
    long neededBlocks, long largestFreeRun) {

  /** Plans regions for {@code modules} on a volume whose allocator view is {@code words}. */
  public static RegionPlan plan(long[] words, long totalBlocks, List<Module> modules) {
    long[] w = words.clone();
    List<RegionDirectory.Entry> out = new ArrayList<>();
    long largest = FreeSpaceScanner.largestFreeRun(w, totalBlocks);
    long needed = 0;
    for (Module m : modules) {
      for (Module.Region r : m.regions()) {
        long n = r.blocksFor(totalBlocks);
        needed += n;
        long s = FreeSpaceScanner.firstFreeRun(w, totalBlocks, n, 0);
        if (s < 0) {
          return new RegionPlan(out, false, m.abbreviation() + "/" + r.name() + " (" + n + " blocks)", needed, largest);
        }
        FreeSpaceScanner.setRange(w, s, n, true);
        out.add(RegionDirectory.Entry.forModule(m, r, s, n));
      }
    }
    return new RegionPlan(out, true, null, needed, largest);
  }

  /** The planned regions as {start, count} runs. */
  public List<long[]> runs() {
    List<long[]> out = new ArrayList<>();
    for (RegionDirectory.Entry e : placements) {
      out.add(new long[] {e.start(), e.blocks()});
    }
    return out;
  }

  /** Number of region-directory entries needed. */
  public int entries() {
    return placements.size();
  }
}
