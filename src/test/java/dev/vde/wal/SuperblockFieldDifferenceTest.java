package dev.vde.wal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import dev.vde.format.Superblock;
import dev.vde.fs.CreateOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import java.lang.reflect.Constructor;
import java.lang.reflect.RecordComponent;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The comparison of two superblock copies names the field in which they differ, and must see a difference in every
 * component of the record: it compares them one by one instead of through the record's equals, and a component added
 * to the record later but not to the comparison would let a damaged copy pass as the twin of the newest.
 */
class SuperblockFieldDifferenceTest {
  @Test
  void everyComponentIsCompared_andNamed() throws Exception {
    Superblock sb = sample();
    RecordComponent[] rc = Superblock.class.getRecordComponents();
    assertThat(SuperblockSlots.FIELD_NAMES).hasSize(rc.length);
    assertThat(SuperblockSlots.firstDifference(sb, sb)).isNull();
    Constructor<Superblock> ctor = Superblock.class.getDeclaredConstructor(
        Arrays.stream(rc).map(RecordComponent::getType).toArray(Class<?>[]::new));
    for (int i = 0; i < rc.length; i++) {
      Object[] values = new Object[rc.length];
      for (int j = 0; j < rc.length; j++) {
        values[j] = rc[j].getAccessor().invoke(sb);
      }
      Object[] same = values.clone();
      values[i] = changed(values[i]);
      Superblock other = ctor.newInstance(values);
      Superblock twin = ctor.newInstance(same);
      String expected = rc[i].getName().equals("layout") ? "inode layout" : rc[i].getName();
      assertThat(SuperblockSlots.firstDifference(twin, other)).as(rc[i].getName()).isEqualTo(expected);
      assertThat(SuperblockSlots.firstDifference(other, twin)).as(rc[i].getName()).isEqualTo(expected);
      assertThat(SuperblockSlots.firstDifference(twin, sb)).as("equal copies, " + rc[i].getName()).isNull();
    }
  }

  private static Object changed(Object v) {
    if (v instanceof Integer i) {
      return i + 1;
    }
    if (v instanceof Long l) {
      return l + 1;
    }
    if (v instanceof String s) {
      return s + "x";
    }
    if (v instanceof UUID u) {
      return new UUID(u.getMostSignificantBits() + 1, u.getLeastSignificantBits());
    }
    if (v instanceof InodeLayout l) {
      return InodeLayout.canonical(Module.manifestOf(List.of(Module.TAGS))).equals(l)
          ? InodeLayout.canonical(0) : InodeLayout.canonical(Module.manifestOf(List.of(Module.TAGS)));
    }
    throw new AssertionError("a superblock component of a type this test cannot change: " + v.getClass());
  }

  private static Superblock sample() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("fields");
    try (VirtualDisk d = VirtualDisk.create(dev, CreateOptions.ofSize(4L << 20).blockSize(4096).label("twin"))) {
      return d.volume().superblock();
    }
  }
}
