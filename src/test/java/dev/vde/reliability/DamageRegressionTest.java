package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.testing.PowerLossDevice;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * Deterministic reproducers of what the fuzzers found, one precise damage each, so a finding stays a named test
 * after the random input that first hit it is forgotten.
 */
class DamageRegressionTest {

  /**
   * A directory inode whose size field claims 2^40 blocks (a multiple of the payload, as a directory size must
   * be) while its extents map one. Found by the havoc fuzzer (seed 1592598565, input 960): the verifier's tree
   * phase steps through every logical block up to the size, holes included, without reading anything, so verify
   * spins for hours. It must end, and report the directory.
   */
  @Test
  void verify_ofADirectoryWhoseInodeClaimsAHugeSize_endsWithAReport() throws IOException {
    FuzzCorpus.Seed plain = FuzzCorpus.plain();
    long inode;
    int payload;
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(plain.image()), OpenOptions.readOnlyOptions())) {
      inode = d.stat("/a/b").inode();
      payload = d.volume().payload();
    }
    byte[] damaged = ImageEdit.withInodeField(plain.image(), inode, ImageEdit.INODE_SIZE_FIELD,
        (long) payload << 40);
    ImageProbe.Outcome o = ImageProbe.probe(damaged, true);
    assertThat(o.failures).as("probe of an image whose /a/b claims " + ((long) payload << 40) + " bytes: " + o)
        .isEmpty();
    assertThat(o.signalled()).as("the damage must be reported: " + o).isTrue();
  }
}
