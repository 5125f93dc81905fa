package dev.vde.cli;

import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.Module;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.function.Function;

/** Parses module names given on the command line (name or abbreviation, any case, commas allowed). */
final class Modules {
  private Modules() {}

  /** The usage error for a module list that names no module. */
  static final String NONE_GIVEN = "no MODULE given: name at least one, by name or abbreviation (e.g. tags); "
      + "'vde module list IMAGE' shows them all";

  /**
   * The modules {@code words} name, each word holding one name or several separated by commas, in the order
   * first named. An empty name ({@code ""}, {@code ","}, {@code "tags,,sec"}, a comma at either end) is a usage
   * error naming {@code what} (the option or parameter): skipped, it let {@code --modules ,} create a volume
   * without modules and without a word, when a name was most likely lost on the way (an unset shell variable).
   * Unknown names fail with the engine's message, which lists the valid ones.
   */
  static List<Module> parse(List<String> words, String what, Function<String, RuntimeException> usageError)
      throws VdeInvalidArgumentException {
    LinkedHashSet<Module> out = new LinkedHashSet<>();
    for (String w : words) {
      // Limit -1 keeps the empty strings that a plain split drops at the end ("tags," is two names, one empty).
      for (String part : w.split(",", -1)) {
        if (part.isBlank()) {
          throw usageError.apply(what + " '" + w + "' has an empty module name: separate names by single commas, "
              + "e.g. tags,SEC; 'vde module list IMAGE' shows them all");
        }
        out.add(Module.parse(part));
      }
    }
    return new ArrayList<>(out);
  }

  static List<String> abbreviations(List<Module> ms) {
    return ms.stream().map(Module::abbreviation).toList();
  }
}
