package dev.vde.module;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import java.util.List;
import org.junit.jupiter.api.Test;

class PaddingClaimTest {
  private final InodeLayout bare = InodeLayout.canonical(0);

  @Test
  void canClaimPadding_transitFitsTagsDoesNot() {
    assertThat(bare.inodeSize()).isEqualTo(320);
    assertThat(bare.paddingBytes()).isEqualTo(16);
    assertThat(PaddingClaim.canClaimPadding(bare, Module.TRANSIT)).isTrue();
    assertThat(PaddingClaim.canClaimPadding(bare, Module.TAGS)).isFalse();
    assertThat(PaddingClaim.canClaimPadding(bare, Module.INTEGRITY)).as("no inode bytes to claim").isFalse();
  }

  @Test
  void claim_putsFieldAtFirstFreePaddingByteAndKeepsSize() {
    InodeLayout l = bare.claim(Module.TRANSIT).claim(Module.RAID);
    assertThat(l.inodeSize()).isEqualTo(320);
    assertThat(l.fieldFor(Module.TRANSIT).offset()).isEqualTo(304);
    assertThat(l.fieldFor(Module.RAID).offset()).isEqualTo(305);
    assertThat(l.paddingBytes()).isEqualTo(11);
    assertThat(l.problems()).isEmpty();
  }

  @Test
  void inventory_listsInactiveFieldModulesWithWhatRemains() {
    List<PaddingClaim.Fit> inv = PaddingClaim.inventory(bare, 0);
    assertThat(inv).extracting(PaddingClaim.Fit::module).doesNotContain(Module.INTEGRITY, Module.COMPUTE);
    PaddingClaim.Fit raid = inv.stream().filter(f -> f.module() == Module.RAID).findFirst().orElseThrow();
    assertThat(raid.fits()).isTrue();
    assertThat(raid.paddingAfter()).isEqualTo(12);
    PaddingClaim.Fit tags = inv.stream().filter(f -> f.module() == Module.TAGS).findFirst().orElseThrow();
    assertThat(tags.fits()).isFalse();
    assertThat(tags.paddingAfter()).isEqualTo(16);
  }

  @Test
  void claimAll_plansChainsAndRefusesWhatDoesNotFit() {
    InodeLayout chain = PaddingClaim.claimAll(bare, List.of(Module.RAID, Module.COMPRESSION));
    assertThat(chain).isNotNull();
    assertThat(chain.paddingBytes()).isEqualTo(8);
    assertThat(PaddingClaim.claimAll(bare, List.of(Module.SECURITY))).as("24 bytes > 16").isNull();
    assertThat(PaddingClaim.claimAll(bare, List.of(Module.REPLICATION, Module.RAID, Module.COMPRESSION)))
        .as("8 + 4 + 4 fills the 16 bytes exactly").isNotNull();
    assertThat(PaddingClaim.claimAll(bare, List.of(Module.REPLICATION, Module.INTELLIGENCE))).as("8 + 12 > 16")
        .isNull();
  }
}
