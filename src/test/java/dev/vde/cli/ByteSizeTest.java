package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine.TypeConversionException;

class ByteSizeTest {
  @ParameterizedTest
  @CsvSource({
      "0, 0",
      "65536, 65536",
      "512b, 512",
      "4K, 4096",
      "4k, 4096",
      "4KiB, 4096",
      "4kib, 4096",
      "64M, 67108864",
      "64 MiB, 67108864",
      "1G, 1073741824",
      "1gib, 1073741824",
      "2T, 2199023255552",
      "2TiB, 2199023255552"
  })
  void parsesCountsAndBinarySuffixes(String text, long expected) {
    assertThat(ByteSize.parse(text)).isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "abc", "12X", "-5", "1.5G", "M", "64MB", "99999999999999999999", "9000000T"})
  void rejectsWhatIsNotASize(String text) {
    assertThatThrownBy(() -> ByteSize.parse(text)).isInstanceOf(TypeConversionException.class)
        .hasMessageContaining("'" + text + "'");
  }

  @ParameterizedTest
  @CsvSource({
      "0, 0 bytes",
      "1, 1 byte",
      "1023, 1023 bytes",
      "1024, 1.0 KiB",
      "1572864, 1.5 MiB",
      "1073741824, 1.0 GiB"
  })
  void formatsForPeople(long bytes, String expected) {
    assertThat(ByteSize.format(bytes)).isEqualTo(expected);
  }
}
