package dev.vde.cli;

import dev.vde.fs.VirtualDisk;
import dev.vde.module.Tags;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vde tag}: key/value tags on files, kept by the Tags module in each inode. */
@Command(name = "tag", mixinStandardHelpOptions = true,
    description = {"Key/value tags on files (the Tags module; add it first with 'vde module add IMAGE tags').",
        "All of a file's tags share its inode's 136-byte Tags field."})
final class TagCommand extends CommandGroup {
  @Override
  List<Class<?>> subcommands() {
    return List.of(Set.class, Get.class, Ls.class, Rm.class);
  }

  /** Base of the tag subcommands: IMAGE VDE_PATH. */
  abstract static class OnFile extends ImageCommand {
    @Parameters(index = "1", paramLabel = "VDE_PATH", description = "The file or directory inside the image.")
    String path;

    /**
     * An empty KEY is a command line that says nothing, as {@code set =v} is: a usage error, like that one, rather
     * than a refusal by the engine.
     */
    void requireKey(String key) {
      if (key.isEmpty()) {
        throw usageError("KEY is empty; a tag key is 1.." + Tags.MAX_KEY_BYTES + " bytes");
      }
    }
  }

  @Command(name = "set", mixinStandardHelpOptions = true, description = "Set a tag: KEY=VALUE (replaces the "
      + "value of an existing key).")
  static final class Set extends OnFile {
    @Parameters(index = "2", paramLabel = "KEY=VALUE", description = "The tag.")
    String assignment;

    @Override
    public Integer call() throws Exception {
      int eq = assignment.indexOf('=');
      if (eq <= 0) {
        throw usageError("expected KEY=VALUE, got '" + assignment + "'");
      }
      try (VirtualDisk disk = openWritable()) {
        Tags.set(disk, VdePath.absolute(path), assignment.substring(0, eq), assignment.substring(eq + 1));
        closeAfterChange(disk);
      }
      return ExitCodes.OK;
    }
  }

  @Command(name = "get", mixinStandardHelpOptions = true, description = "Print one tag's value (exit 3 when the "
      + "file has no such tag).")
  static final class Get extends OnFile {
    @Parameters(index = "2", paramLabel = "KEY", description = "The tag key.")
    String key;

    @Option(names = "--json", description = "Print the value as a JSON string (exact, nothing escaped).")
    boolean json;

    @Override
    public Integer call() throws Exception {
      requireKey(key);
      String v;
      try (VirtualDisk disk = openReadOnly()) {
        v = Tags.get(disk, VdePath.absolute(path), key);
      }
      if (v == null) {
        throw inImage(path + " has no tag '" + key + "'");
      }
      // Text output escapes control characters, as every listing does; --json carries the exact value.
      out().println(json ? Json.compact(v) : Printable.of(v));
      return ExitCodes.OK;
    }
  }

  @Command(name = "ls", mixinStandardHelpOptions = true, description = "List a file's tags, sorted by key.")
  static final class Ls extends OnFile {
    @Option(names = "--json", description = "Print a JSON object {key: value, ...}.")
    boolean json;

    @Override
    public Integer call() throws Exception {
      Map<String, String> tags;
      try (VirtualDisk disk = openReadOnly()) {
        tags = Tags.list(disk, VdePath.absolute(path));
      }
      if (json) {
        out().println(Json.pretty(tags));
      } else {
        List<String> lines = new ArrayList<>();
        tags.forEach((k, v) -> lines.add(Printable.of(k) + "=" + Printable.of(v)));
        lines.forEach(out()::println);
      }
      return ExitCodes.OK;
    }
  }

  @Command(name = "rm", mixinStandardHelpOptions = true, description = "Remove a tag (exit 3 when it is not set).")
  static final class Rm extends OnFile {
    @Parameters(index = "2", paramLabel = "KEY", description = "The tag key.")
    String key;

    @Override
    public Integer call() throws Exception {
      requireKey(key);
      boolean existed;
      try (VirtualDisk disk = openWritable()) {
        existed = Tags.remove(disk, VdePath.absolute(path), key);
        closeAfterChange(disk);
      }
      if (!existed) {
        throw inImage(path + " has no tag '" + key + "'");
      }
      return ExitCodes.OK;
    }
  }
}
