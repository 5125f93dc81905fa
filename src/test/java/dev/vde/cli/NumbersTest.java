package dev.vde.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Locale;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import org.junit.jupiter.api.Test;

class NumbersTest {
  @Property
  void groupedMatchesTheFormatter(@ForAll long n) {
    assertThat(Numbers.grouped(n)).isEqualTo(String.format(Locale.ROOT, "%,d", n));
  }

  // What the tool prints this way (times, rates, ratios, sizes) is never negative; the formatter would print a
  // negative value that rounds to zero as "-0", which nobody needs.
  @Property
  void fixedMatchesTheFormatter(@ForAll @DoubleRange(min = 0, max = 1e18) double x) {
    for (int decimals = 0; decimals <= 2; decimals++) {
      String expected = String.format(Locale.ROOT, "%." + decimals + "f", x);
      assertThat(Numbers.fixed(x, decimals)).as("%s to %d places", x, decimals).isEqualTo(expected);
    }
  }

  @Property
  void groupedWholeMatchesTheFormatter(@ForAll @DoubleRange(min = 0, max = 1e18) double x) {
    assertThat(Numbers.groupedWhole(x)).isEqualTo(String.format(Locale.ROOT, "%,.0f", x));
  }

  @Test
  void edgeCases() {
    assertThat(Numbers.grouped(0)).isEqualTo("0");
    assertThat(Numbers.grouped(999)).isEqualTo("999");
    assertThat(Numbers.grouped(1000)).isEqualTo("1,000");
    assertThat(Numbers.grouped(-1234567)).isEqualTo("-1,234,567");
    assertThat(Numbers.grouped(Long.MIN_VALUE)).isEqualTo("-9,223,372,036,854,775,808");
    assertThat(Numbers.fixed(2.345, 2)).isEqualTo("2.35");
    assertThat(Numbers.fixed(0.05, 1)).isEqualTo("0.1");
    assertThat(Numbers.fixed(1e300, 1)).isEqualTo(String.format(Locale.ROOT, "%.1f", 1e300));
    assertThat(Numbers.groupedWhole(1234.5)).isEqualTo("1,235");
    assertThat(Numbers.groupedWhole(1e20)).isEqualTo("100,000,000,000,000,000,000");
  }
}
