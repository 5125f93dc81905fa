package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code vde} launcher script at the repository root, run on a copy of it in a small fake repository: stand-ins
 * for {@code java} and {@code mvn} record what the script asks of them, so that no test builds the real jar or starts
 * a JVM, and each one runs in well under a second or two.
 */
class LauncherScriptTest {
  @TempDir
  Path tmp;

  private Path repo;
  private Path jar;
  private Path log;
  private Path tools;

  /** A JVM stand-in: a training run logs itself, a dump writes the archive, the real run prints its arguments. */
  private static final String FAKE_JAVA = """
      #!/usr/bin/env bash
      me="$(basename "$(dirname "$0")")"
      for a in "$@"; do
        case "$a" in
          -XX:DumpLoadedClassList=*) echo "train $me LC_ALL=${LC_ALL:-}" >>"$FAKE_LOG"; exit "${FAKE_TRAIN_RC:-0}" ;;
          -XX:SharedArchiveFile=*) [[ " $* " == *" -Xshare:dump "* ]] && { echo "archive of $me" >"${a#*=}"; exit 0; } ;;
        esac
      done
      echo "run $me" >>"$FAKE_LOG"
      for a in "$@"; do printf 'arg:%s\\n' "$a"; done
      exit "${FAKE_RC:-0}"
      """;

  /** A Maven stand-in that takes a while, with the jar half written meanwhile, and logs builds that overlap. */
  private static final String FAKE_MVN = """
      #!/usr/bin/env bash
      mkdir -p target
      mkdir target/.fake-build 2>/dev/null || echo overlap >>"$FAKE_LOG"
      echo build >>"$FAKE_LOG"
      printf partial >target/vde-cli.jar
      sleep 1
      printf complete >target/vde-cli.jar
      rmdir target/.fake-build 2>/dev/null
      exit 0
      """;

  @BeforeEach
  void setUp() throws IOException {
    repo = Files.createDirectories(tmp.resolve("repo"));
    Path script = repo.resolve("vde");
    Files.copy(Path.of("vde"), script);
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.writeString(repo.resolve("pom.xml"), "<project/>");
    Path source = Files.createDirectories(repo.resolve("src/main/java")).resolve("A.java");
    Files.writeString(source, "class A {}");
    // Sources from an hour ago, so that a jar written now is unmistakably newer.
    FileTime past = FileTime.from(Instant.now().minusSeconds(3600));
    for (Path p : List.of(repo.resolve("pom.xml"), source, source.getParent(), repo.resolve("src/main"))) {
      Files.setLastModifiedTime(p, past);
    }
    jar = repo.resolve("target/vde-cli.jar");
    log = tmp.resolve("log");
    Files.writeString(log, "");
    // The host's own tools, without its java and mvn, so each test says which it has. Wrappers rather than links:
    // what the script and the stand-ins use, each found on this process's PATH.
    tools = Files.createDirectories(tmp.resolve("tools"));
    for (String tool : List.of("bash", "env", "mktemp", "cat", "rm", "readlink", "mkdir", "rmdir", "flock", "sync",
        "mv", "ln", "locale", "grep", "basename", "dirname", "sleep")) {
      for (String dir : System.getenv("PATH").split(File.pathSeparator)) {
        Path real = Path.of(dir.isEmpty() ? "." : dir, tool);
        if (Files.isExecutable(real)) {
          Path wrapper = tools.resolve(tool);
          Files.writeString(wrapper, "#!/bin/sh\nexec '" + real.toAbsolutePath() + "' \"$@\"\n");
          Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
          break;
        }
      }
    }
  }

  private Path fakeJava(String name) throws IOException {
    Path bin = Files.createDirectories(tmp.resolve(name));
    Path java = bin.resolve("java");
    Files.writeString(java, FAKE_JAVA);
    Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
    return bin;
  }

  private Path fakeMaven() throws IOException {
    Path bin = Files.createDirectories(tmp.resolve("maven"));
    Path mvn = bin.resolve("mvn");
    Files.writeString(mvn, FAKE_MVN);
    Files.setPosixFilePermissions(mvn, PosixFilePermissions.fromString("rwxr-xr-x"));
    return bin;
  }

  private void builtJar() throws IOException {
    Files.createDirectories(jar.getParent());
    Files.writeString(jar, "complete");
  }

  private record Result(int exit, List<String> args, String stderr) {
    String archive() {
      return args.stream().filter(a -> a.startsWith("-XX:SharedArchiveFile=")).findFirst().orElse(null);
    }
  }

  private Process start(Path script, Path cwd, Map<String, String> env, Path... path) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(script.toString()));
    return start(cmd, cwd, env, path);
  }

  private Process start(List<String> cmd, Path cwd, Map<String, String> env, Path... path) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile());
    pb.environment().remove("LC_ALL");
    pb.environment().remove("LC_CTYPE");
    pb.environment().remove("VDE_CDS");
    pb.environment().put("LANG", "C.UTF-8");
    StringBuilder p = new StringBuilder();
    for (Path dir : path) {
      p.append(dir).append(File.pathSeparator);
    }
    pb.environment().put("PATH", p.append(tools).toString());
    pb.environment().put("FAKE_LOG", log.toString());
    pb.environment().putAll(env);
    return pb.start();
  }

  private static Result finish(Process proc) throws Exception {
    proc.getOutputStream().close();
    String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(proc.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(proc.waitFor(60, TimeUnit.SECONDS)).isTrue();
    List<String> args = new ArrayList<>();
    for (String line : out.split("\n", -1)) {
      if (line.startsWith("arg:")) {
        args.add(line.substring(4));
      }
    }
    return new Result(proc.exitValue(), args, err);
  }

  private Result run(Map<String, String> env, Path... path) throws Exception {
    return finish(start(repo.resolve("vde"), tmp, env, path));
  }

  private List<String> logLines() throws IOException {
    return Files.readAllLines(log);
  }

  @Test
  void anArchiveIsUsedOnlyByTheJvmThatMadeIt() throws Exception {
    builtJar();
    Path a = fakeJava("jdk-a");
    Path b = fakeJava("jdk-b");
    Result first = run(Map.of(), a);
    assertThat(first.exit()).isZero();
    assertThat(first.archive()).isNotNull();
    assertThat(logLines()).containsExactly("train jdk-a LC_ALL=", "run jdk-a");

    // Another java first on the PATH: a JVM handed an archive it did not dump maps none at all, the JDK's default
    // one included, so it must get its own rather than the first one's.
    Result other = run(Map.of(), b);
    assertThat(other.exit()).isZero();
    assertThat(other.archive()).isNotNull().isNotEqualTo(first.archive());
    assertThat(Files.readString(Path.of(other.archive().substring(other.archive().indexOf('=') + 1))))
        .isEqualTo("archive of jdk-b\n");

    // Switching back trains nothing again: each archive stays valid for its own JVM.
    Result again = run(Map.of(), a);
    assertThat(again.archive()).isEqualTo(first.archive());
    assertThat(logLines()).containsExactly(
        "train jdk-a LC_ALL=", "run jdk-a", "train jdk-b LC_ALL=", "run jdk-b", "run jdk-a");
  }

  @Test
  void aFailedTrainingIsNotRepeatedAtEveryStart() throws Exception {
    builtJar();
    Path a = fakeJava("jdk-a");
    for (int i = 0; i < 3; i++) {
      Result r = run(Map.of("FAKE_TRAIN_RC", "1"), a);
      assertThat(r.exit()).isZero();
      assertThat(r.archive()).isNull();
    }
    assertThat(logLines()).containsExactly("train jdk-a LC_ALL=", "run jdk-a", "run jdk-a", "run jdk-a");

    // A new build tries again: the jar is newer than what the training left.
    try (var left = Files.list(repo.resolve("target/cds"))) {
      for (Path p : left.toList()) {
        Files.setLastModifiedTime(p, FileTime.from(Instant.now().minusSeconds(60)));
      }
    }
    assertThat(run(Map.of(), a).archive()).isNotNull();
  }

  @Test
  void theTrainingRunGetsTheSameUtf8LocaleAsTheRealRun() throws Exception {
    Process locales = new ProcessBuilder("locale", "-a").start();
    String all = new String(locales.getInputStream().readAllBytes(), StandardCharsets.UTF_8).toLowerCase();
    locales.waitFor();
    Assumptions.assumeTrue(all.contains("c.utf8") || all.contains("c.utf-8"), "the host has no C.UTF-8 locale");
    builtJar();
    Path a = fakeJava("jdk-a");
    // Under LANG=C the JVM cannot open a jar whose path is not ASCII; the training run must not be left behind.
    Result r = run(Map.of("LANG", "C"), a);
    assertThat(r.exit()).isZero();
    assertThat(logLines()).containsExactly("train jdk-a LC_ALL=C.UTF-8", "run jdk-a");
  }

  @Test
  void twoFirstRunsAtOnceBuildOnce() throws Exception {
    Assumptions.assumeTrue(Files.exists(tools.resolve("flock")), "the host has no flock");
    Path a = fakeJava("jdk-a");
    Path mvn = fakeMaven();
    Map<String, String> noCds = Map.of("VDE_CDS", "0");
    Process one = start(repo.resolve("vde"), tmp, noCds, a, mvn);
    Process two = start(repo.resolve("vde"), tmp, noCds, a, mvn);
    Result r1 = finish(one);
    Result r2 = finish(two);
    assertThat(r1.exit()).as(r1.stderr()).isZero();
    assertThat(r2.exit()).as(r2.stderr()).isZero();
    assertThat(Files.readString(jar)).isEqualTo("complete");
    assertThat(logLines()).containsExactly("build", "run jdk-a", "run jdk-a");
  }

  @Test
  void missingMavenIsSaidPlainly() throws Exception {
    Result r = run(Map.of(), fakeJava("jdk-a"));
    assertThat(r.exit()).isEqualTo(3);
    assertThat(r.stderr()).contains("vde: building target/vde-cli.jar needs Maven (mvn), which is not on the PATH");
    assertThat(logLines()).isEmpty();
  }

  @Test
  void missingJavaIsSaidPlainly() throws Exception {
    builtJar();
    Result r = run(Map.of());
    assertThat(r.exit()).isEqualTo(3);
    assertThat(r.stderr()).isEqualTo("vde: java is not on the PATH; vde needs a JDK, 17 or newer\n");
  }

  @Test
  void argumentsAndTheExitCodePassThroughUnchanged() throws Exception {
    builtJar();
    Path a = fakeJava("jdk-a");
    List<String> args = List.of("a b", "\"quoted\" 'too'", "--leading", "-", "", "é", "$HOME", "*");
    List<String> cmd = new ArrayList<>(List.of(repo.resolve("vde").toString()));
    cmd.addAll(args);
    Result r = finish(start(cmd, tmp, Map.of("FAKE_RC", "130", "VDE_CDS", "0"), a));
    assertThat(r.exit()).isEqualTo(130);
    assertThat(r.args()).endsWith(args.toArray(String[]::new));
    assertThat(r.args()).contains("-jar", jar.toRealPath().toString());
  }

  @Test
  void aChainOfRelativeAndAbsoluteLinksFindsTheRepository() throws Exception {
    builtJar();
    Path a = fakeJava("jdk-a");
    Path d1 = Files.createDirectories(tmp.resolve("with space/bin"));
    Path d2 = Files.createDirectories(tmp.resolve("other"));
    Files.createSymbolicLink(d2.resolve("vde2"), repo.resolve("vde").toAbsolutePath());
    Files.createSymbolicLink(d1.resolve("vde"), Path.of("../../other/vde2"));
    Path cwd = Files.createDirectories(tmp.resolve("elsewhere"));
    Result r = finish(start(List.of("../with space/bin/vde", "ls"), cwd, Map.of("VDE_CDS", "0"), a));
    assertThat(r.exit()).as(r.stderr()).isZero();
    assertThat(r.args()).containsSubsequence("-jar", jar.toRealPath().toString(), "ls");
  }
}
