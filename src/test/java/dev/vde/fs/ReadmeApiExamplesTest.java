package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.Module;
import dev.vde.module.Tags;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringWriter;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keeps the Java examples of README.md working: every fenced {@code java} block is compiled against the library and
 * run, in the order the README gives them, on one volume. A reader copies these first; an example that no longer
 * compiles, or that prints something else than its comments say, is a broken promise nobody else would notice.
 *
 * <p>A block that declares a class is compiled as it is. A block of statements is what a reader pastes into a
 * method that may throw, with the imports of the library's public packages, so it is wrapped into one
 * ({@code Module} imported by name, since {@code java.lang.Module} would make the bare name ambiguous). The image
 * name the examples use ({@code "notes.vde"}, relative to the working directory) is replaced by a file in a
 * temporary directory: the only change made to the text.
 */
class ReadmeApiExamplesTest {
  private static final Pattern JAVA_BLOCK = Pattern.compile("(?ms)^```java\\n(.*?)^```$");
  private static final String IMAGE_NAME = "\"notes.vde\"";
  private static final String SNIPPET_IMPORTS = String.join("\n",
      "import dev.vde.format.Module;",
      "import dev.vde.fs.*;",
      "import dev.vde.module.*;",
      "import dev.vde.module.copy.*;",
      "import java.nio.file.*;",
      "import java.util.*;",
      "");

  private static List<String> blocks;

  @BeforeAll
  static void readReadme() throws IOException {
    Path readme = Path.of(System.getProperty("basedir", ".")).resolve("README.md");
    assertThat(readme).as("the README").exists();
    Matcher m = JAVA_BLOCK.matcher(Files.readString(readme, StandardCharsets.UTF_8));
    blocks = new ArrayList<>();
    while (m.find()) {
      blocks.add(m.group(1));
    }
  }

  @Test
  void everyJavaBlockCompilesAndRuns_printingWhatItsCommentsSay(@TempDir Path dir) throws Exception {
    assertThat(blocks).as("java blocks in README.md").hasSize(2);
    Path image = dir.resolve("notes.vde");
    String imageLiteral = "\"" + image.toString().replace("\\", "\\\\").replace("\"", "\\\"") + "\"";

    String first = blocks.get(0);
    assertThat(first).as("the first example names its image").contains(IMAGE_NAME).contains("public class Notes");
    String out = compileAndRun(dir.resolve("first"), "Notes", first.replace(IMAGE_NAME, imageLiteral));
    // Its listing: the file it wrote, 16 bytes ("water the plants"), after the content read back.
    assertThat(out.lines().toList()).containsExactly("water the plants", "file 16 /2024/june/todo.txt");

    String second = blocks.get(1);
    assertThat(second).as("the second example names the same image").contains(IMAGE_NAME)
        .doesNotContain("class ");
    String wrapped = SNIPPET_IMPORTS + "public class Snippet {\n  public static void main(String[] args) throws "
        + "Exception {\n" + second.replace(IMAGE_NAME, imageLiteral) + "\n  }\n}\n";
    out = compileAndRun(dir.resolve("second"), "Snippet", wrapped);
    // Its comment says the recommendation for Tags on that volume is the migration.
    assertThat(out.lines().toList()).containsExactly("recommended: MIGRATE");
    try (VirtualDisk disk = VirtualDisk.open(image)) {
      assertThat(disk.info().modules()).as("Tags added by the example").contains(Module.TAGS);
      assertThat(Tags.get(disk, "/2024/june/todo.txt", "owner")).isEqualTo("me");
      assertThat(new String(disk.readFile("/2024/june/todo.txt"), StandardCharsets.UTF_8))
          .isEqualTo("water the plants");
    }
  }

  /** Compiles {@code source} (class {@code className}) against this test's class path, runs its main, returns stdout. */
  private static String compileAndRun(Path dir, String className, String source) throws Exception {
    Files.createDirectories(dir);
    Path file = dir.resolve(className + ".java");
    Files.writeString(file, source, StandardCharsets.UTF_8);
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    assertThat(javac).as("a JDK compiler").isNotNull();
    StringWriter diagnostics = new StringWriter();
    boolean ok = javac.getTask(diagnostics, null, null,
        List.of("-classpath", System.getProperty("java.class.path"), "-d", dir.toString(), "--release", "17",
            "-proc:none"),
        null, javac.getStandardFileManager(null, null, StandardCharsets.UTF_8).getJavaFileObjects(file)).call();
    assertThat(ok).as("README example %s compiles:%n%s%n%s", className, diagnostics, source).isTrue();

    PrintStream saved = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()},
        ReadmeApiExamplesTest.class.getClassLoader())) {
      Method main = loader.loadClass(className).getMethod("main", String[].class);
      System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
      main.invoke(null, (Object) new String[0]);
    } finally {
      System.setOut(saved);
    }
    return captured.toString(StandardCharsets.UTF_8);
  }
}
