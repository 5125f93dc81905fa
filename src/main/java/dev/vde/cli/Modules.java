package dev.vde.cli;

import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.Module;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/** Parses module names given on the command line (name or abbreviation, any case, commas allowed). */
final class Modules {
  private Modules() {}

  /** The usage error for a module list that names no module. */
  static final String NONE_GIVEN = "no MODULE given: name at least one, by name or abbreviation (e.g. tags); "
      + "'vde module list IMAGE' shows them all";

  static List<Module> parse(List<String> words) throws VdeInvalidArgumentException {
    LinkedHashSet<Module> out = new LinkedHashSet<>();
    for (String w : words) {
      for (String part : w.split(",")) {
        if (!part.isBlank()) {
          out.add(Module.parse(part));
        }
      }
    }
    return new ArrayList<>(out);
  }

  static List<String> abbreviations(List<Module> ms) {
    return ms.stream().map(Module::abbreviation).toList();
  }
}
