package dev.vde.module;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.TestVolumes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Random sequences of in-place module additions: after each, the layout is sound, existing inodes read zero in
 * the new field, and writing one module's field never disturbs another's.
 */
class ModuleFieldPropertyTest {

  @Provide
  Arbitrary<List<Module>> sequences() {
    List<Module> withFields = Arrays.stream(Module.values()).filter(m -> m.inodeBytes() > 0 && m.inodeBytes() <= 16)
        .toList();
    List<Module> regionOnly = Arrays.stream(Module.values()).filter(m -> m.inodeBytes() == 0).toList();
    List<Module> pool = new ArrayList<>(withFields);
    pool.addAll(regionOnly);
    return Arbitraries.of(pool).list().uniqueElements().ofMinSize(1).ofMaxSize(5);
  }

  @Property(tries = 40)
  void everyAdditionKeepsLayoutSoundAndFieldsIndependent(@ForAll("sequences") List<Module> seq) throws Exception {
    try (TestVolumes.Volume v = TestVolumes.create(4096)) {
      VirtualDisk d = v.disk();
      for (int i = 0; i < 6; i++) {
        d.writeFile("/f" + i, new byte[] {(byte) i});
      }
      Map<Module, byte[]> written = new HashMap<>();
      int step = 0;
      for (Module m : seq) {
        InodeLayout before = d.volume().superblock().layout();
        if (m.inodeBytes() > 0 && !before.canClaim(m)) {
          continue;
        }
        if (d.volume().bitmap().largestFreeRun() < 300 && !m.regions().isEmpty()) {
          continue;
        }
        InPlaceAddition.add(d, List.of(m));
        InodeLayout after = d.volume().superblock().layout();
        assertThat(after.problems()).isEmpty();
        assertThat(after.inodeSize()).isEqualTo(before.inodeSize()).isEqualTo(320);
        for (InodeLayout.Field f : before.fields()) {
          assertThat(after.fieldFor(f.moduleId())).as("existing fields never move").isEqualTo(f);
        }
        if (m.inodeBytes() == 0) {
          continue;
        }
        for (int i = 0; i < 6; i++) {
          assertThat(d.readModuleField("/f" + i, m)).as("new field reads zero").containsOnly(0);
        }
        byte[] value = new byte[m.inodeBytes()];
        Arrays.fill(value, (byte) (0x40 + step++));
        d.writeModuleField("/f2", m, value);
        written.put(m, value);
        for (Map.Entry<Module, byte[]> e : written.entrySet()) {
          assertThat(d.readModuleField("/f2", e.getKey())).as("field of " + e.getKey()).isEqualTo(e.getValue());
        }
        assertThat(d.readFile("/f2")).containsExactly(2);
      }
      try (TestVolumes.Volume r = TestVolumes.closeAndVerify(v)) {
        for (Map.Entry<Module, byte[]> e : written.entrySet()) {
          assertThat(r.disk().readModuleField("/f2", e.getKey())).isEqualTo(e.getValue());
        }
      }
    }
  }
}
