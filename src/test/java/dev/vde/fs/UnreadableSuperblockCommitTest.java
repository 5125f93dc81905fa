package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.Superblock;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.PowerLossDevice.KeepPolicy;
import dev.vde.testing.TestVolumes;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * A transaction whose superblock image its own reader refuses (a field out of the ranges FORMAT.md section 5 gives)
 * was committed and acknowledged: the next checkpoint wrote its other images in place and then failed to read that
 * image, which stopped the volume, and recovery, which treats such a transaction as not committed, dropped it and
 * every transaction after it. Such a change must be refused before anything is published or written.
 */
class UnreadableSuperblockCommitTest {
  private static final int BS = 512;

  @Test
  void aFormatChangeWhoseSuperblockDoesNotReadBack_isRefused_andTheVolumeGoesOn() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("unreadable superblock");
    try (VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(BS))) {
      d.writeFile("/a", new byte[] {1});
      Superblock before = d.volume().superblock();
      long free = d.info().freeBlocks();
      List<UnaryOperator<Superblock>> changes = List.of(
          s -> s.withCounts(-1, s.freeBlocks(), s.inodeTableInitBlocks(), s.modifiedMillis()),
          s -> s.withInodeTable(1, s.inodeTableInitBlocks()));
      for (UnaryOperator<Superblock> change : changes) {
        assertThatThrownBy(() -> d.changeFormat(tx -> {
          tx.allocateContiguous(3);
          tx.setSuperblock(change.apply(tx.superblock()));
          return null;
        })).isInstanceOf(VdeInvalidArgumentException.class).hasMessageContaining("superblock that no checkpoint");
      }
      assertThat(d.volume().superblock()).isEqualTo(before);
      assertThat(d.info().freeBlocks()).isEqualTo(free);
      d.checkpoint();
      d.writeFile("/b", new byte[] {2});
    }
    try (VirtualDisk re = TestVolumes.open(dev.powerLoss(KeepPolicy.NONE))) {
      assertThat(re.readFile("/a")).containsExactly(1);
      assertThat(re.readFile("/b")).containsExactly(2);
      assertThat(re.verify(Progress.NONE).clean()).isTrue();
    }
  }
}
