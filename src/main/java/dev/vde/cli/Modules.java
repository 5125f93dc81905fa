package dev.vde.cli;

import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.Module;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/** Parses module names given on the command line (name or abbreviation, any case, commas allowed). */
final class Modules {
  private Modules() {}

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
