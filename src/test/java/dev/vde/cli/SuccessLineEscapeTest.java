package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Lines that report success name host files too, and escape them as every other line of text output does: an image
 * whose name holds a line break was printed raw by {@code create}, {@code copy}, {@code module add --to} and
 * {@code demo}, so the one line of the report came out as two, and an escape sequence in a name reached the
 * terminal.
 */
class SuccessLineEscapeTest {
  @TempDir
  Path tmp;

  @Test
  void create_copy_and_moduleAddTo_nameTheirFilesOnOneEscapedLine() {
    Path image = tmp.resolve("two\nlines\u001b[31m.vde");
    String created = Cli.run("create", image, "--size", "8M").ok().stdout();
    assertThat(created.lines()).hasSize(1);
    assertThat(created).startsWith("created ").contains("two\\nlines\\x1b[31m.vde").doesNotContain("\u001b");

    Path copy = tmp.resolve("copy\nof.vde");
    String copied = Cli.run("copy", image, copy).ok().stdout();
    assertThat(copied.lines().filter(l -> l.startsWith("copied "))).singleElement().satisfies(l -> assertThat(l)
        .contains("two\\nlines\\x1b[31m.vde").contains("copy\\nof.vde"));
    assertThat(copied).doesNotContain("\u001b").doesNotContain("copy\nof");

    Path tagged = tmp.resolve("tagged\n.vde");
    String added = Cli.run("module", "add", image, "tags", "--to", tagged).ok().stdout();
    assertThat(added.lines().filter(l -> l.startsWith("Copied to "))).singleElement()
        .satisfies(l -> assertThat(l).contains("tagged\\n.vde"));
    assertThat(added).doesNotContain("tagged\n");
  }

  @Test
  void demo_namesItsDirectoryEscaped() {
    Path dir = tmp.resolve("de\tmo");
    String out = Cli.run("demo", dir, "--files", "3", "--progress", "none").ok().stdout();
    assertThat(out.lines().findFirst()).hasValueSatisfying(l -> assertThat(l).contains("de\\tmo"));
    assertThat(out).contains("1. created " + Printable.of(dir.resolve("demo.vde").toString()))
        .contains("vde ls $'" + dir.toString().replace("\t", "\\t") + "/demo.vde' / -R");
    assertThat(out).doesNotContain("de\tmo");
  }
}
