package dev.vde.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * The one place that turns the CLI's output records into JSON. Record components become keys in declaration
 * order, and nulls are written (a missing key and null mean different things to some consumers).
 */
final class Json {
  private static final ObjectMapper MAPPER = JsonMapper.builder()
      .enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN)
      .build();

  private Json() {}

  /** Indented, for documents a person may read too ({@code info}, {@code ls}, {@code fsck}). */
  static String pretty(Object value) {
    return write(value, true);
  }

  /** On one line, for streams of objects such as progress lines. */
  static String compact(Object value) {
    return write(value, false);
  }

  private static String write(Object value, boolean indent) {
    try {
      return indent ? MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(value)
          : MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      // Our records always serialize; failing here is a defect in vde, not a user error.
      throw new IllegalStateException("cannot write JSON: " + e.getOriginalMessage(), e);
    }
  }
}
