package dev.vde.module.migration;

import static dev.vde.module.migration.MigrationFixture.TAGS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.MigrationControl;
import dev.vde.module.MigrationOptions;
import dev.vde.module.MigrationResult;
import dev.vde.module.migration.MigrationFixture.Image;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * Arguments of the migration API: those that mean "none" behave as the default, as the copy's do; a value outside
 * the contract of an options object or control is refused as the options builders refuse one (DESIGN.md section 8).
 */
class MigrationArgumentsTest {
  @Test
  void aNegativeIopsLimitIsRefusedByName_andLeavesTheLimitAsItWas() {
    MigrationControl control = new MigrationControl(300, false);
    assertThatThrownBy(() -> control.setMaxIops(-1)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("IOPS limit").hasMessageContaining("-1");
    assertThat(control.maxIops()).isEqualTo(300);
    assertThatThrownBy(() -> MigrationOptions.defaults().maxIops(-5)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("-5");
  }

  // A null listener was stored as given and the first progress report threw a NullPointerException from inside
  // the migration, which then stayed pending; CopyOptions.progress(null) has always meant "no progress".
  @Test
  void aNullListenerMeansNoProgress() throws IOException {
    Image img = MigrationFixture.build(MigrationFixture.smallSpec(2, 10, false));
    VirtualDisk disk = MigrationFixture.open(img.device("null listener"));
    MigrationResult r = InodeMigration.start(disk, TAGS, MigrationOptions.defaults().listener(null));
    assertThat(r.cancelled()).isFalse();
    assertThat(InodeMigration.isPending(disk)).isFalse();
    assertThat(MigrationFixture.treeDiff(disk, img.model())).isEmpty();
    disk.close();
  }
}
