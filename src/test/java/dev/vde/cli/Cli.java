package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/** Runs {@code vde} in-process with captured streams, as the tests' single way in. */
final class Cli {
  private static final ObjectMapper JSON = new ObjectMapper();

  private Cli() {}

  /** What one command did. */
  record Result(int exitCode, byte[] stdoutBytes, String stderr) {
    String stdout() {
      return new String(stdoutBytes, StandardCharsets.UTF_8);
    }

    JsonNode json() {
      try {
        return JSON.readTree(stdoutBytes);
      } catch (IOException e) {
        throw new UncheckedIOException("stdout is not JSON: " + stdout(), e);
      }
    }

    List<String> stderrLines() {
      return stderr.lines().toList();
    }

    /** Asserts success, showing stderr when it is not. */
    Result ok() {
      assertThat(exitCode).as("exit code; stderr: %s", stderr).isZero();
      return this;
    }

    /** Asserts the failure shape every error must have: one line, prefixed, the given exit code. */
    Result failsWith(int expectedExit) {
      assertThat(exitCode).as("exit code; stdout: %s stderr: %s", stdout(), stderr).isEqualTo(expectedExit);
      assertThat(stderrLines()).as("stderr").hasSize(1);
      assertThat(stderr).startsWith("vde: ").doesNotContain("Exception").doesNotContain("\tat ");
      return this;
    }
  }

  static Result run(Object... args) {
    String[] words = new String[args.length];
    for (int i = 0; i < args.length; i++) {
      words[i] = String.valueOf(args[i]);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      code = Main.run(words, o, e);
    }
    return new Result(code, out.toByteArray(), err.toString(StandardCharsets.UTF_8));
  }

  static JsonNode parse(String json) throws IOException {
    return JSON.readTree(json);
  }

  /** SHA-256 of a file, to prove a failing command left it untouched. */
  static String sha256(Path file) throws IOException {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JDK has SHA-256", e);
    }
  }
}
