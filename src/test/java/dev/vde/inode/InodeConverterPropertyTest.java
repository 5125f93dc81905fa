package dev.vde.inode;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import java.util.Arrays;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;

/**
 * {@link InodeConverter#convert} against its definition, byte by byte: an in-use record keeps its core, every field
 * both layouts have moves to its new offset, and every other byte of the target record is zero whatever the target
 * buffer held; a free record becomes all zeros.
 */
class InodeConverterPropertyTest {
  private static final long ALL = (1L << Module.values().length) - 1;

  @Property(tries = 300)
  void convertsByTheDefinition(@ForAll @LongRange(min = 0, max = Long.MAX_VALUE) long fromBits,
      @ForAll @LongRange(min = 0, max = Long.MAX_VALUE) long addBits, @ForAll long seed,
      @ForAll boolean claimFirst, @ForAll boolean free) {
    InodeLayout from = InodeLayout.canonical(fromBits & ALL);
    InodeLayout to = InodeLayout.canonical((fromBits | addBits) & ALL);
    if (claimFirst) {
      // A layout grown by padding claims puts fields where the canonical order would not.
      for (Module m : Module.values()) {
        if (from.canClaim(m) && from.fieldFor(m) == null && m.inodeBytes() > 0) {
          from = from.claim(m);
          break;
        }
      }
      InodeLayout f = from;
      to = InodeLayout.canonical(f.fieldManifest() | ((fromBits | addBits) & ALL));
    }
    Random r = new Random(seed);
    byte[] src = new byte[from.inodeSize() + 7];
    r.nextBytes(src);
    src[3 + 4] = free ? 0 : (byte) (1 + r.nextInt(2));
    byte[] dst = new byte[to.inodeSize() + 11];
    r.nextBytes(dst);
    byte[] before = dst.clone();

    new InodeConverter(from, to).convert(src, 3, dst, 5);

    byte[] expected = new byte[to.inodeSize()];
    if (!free) {
      System.arraycopy(src, 3, expected, 0, InodeLayout.CORE_SIZE);
      for (InodeLayout.Field f : from.fields()) {
        InodeLayout.Field g = to.fieldFor(f.moduleId());
        if (g != null) {
          System.arraycopy(src, 3 + f.offset(), expected, g.offset(), f.size());
        }
      }
    }
    assertThat(Arrays.copyOfRange(dst, 5, 5 + to.inodeSize())).isEqualTo(expected);
    assertThat(Arrays.copyOfRange(dst, 0, 5)).as("bytes before the record").isEqualTo(Arrays.copyOfRange(before, 0, 5));
    assertThat(Arrays.copyOfRange(dst, 5 + to.inodeSize(), dst.length)).as("bytes after the record")
        .isEqualTo(Arrays.copyOfRange(before, 5 + to.inodeSize(), dst.length));
  }
}
