package dev.vde.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vde.Progress;
import dev.vde.VdeCorruptedException;
import dev.vde.format.Bytes;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.Tags;
import dev.vde.testing.PowerLossDevice;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Link counts damaged (resealed) in the inode record. A file has one link and the engine never changes a file's
 * count, so any other count means the record is not as the engine wrote it; the verifier and the copy report it.
 * Deleting such a file freed its inode and its blocks on the word of that record, and the damage the verifier
 * would have reported was gone with it; writes went through too. Changes through the entry must be refused as
 * damage, naming the path and the inode-table block; reads still work, so the content can be copied out. The
 * same for an empty directory whose count is not 2.
 */
class LinkCountDamageTest {
  private static final String VICTIM = OperationDamageMatrixTest.VICTIM;
  private static final String SUB = OperationDamageMatrixTest.SUB;

  private static void refused(ThrowingCallable call, String what, String message, long tableBlock) {
    assertThatThrownBy(call).as(what).isInstanceOf(VdeCorruptedException.class).hasMessageContaining(message)
        .satisfies(t -> assertThat(((VdeCorruptedException) t).getBlockNo()).as(what + ": block").isEqualTo(
            tableBlock));
  }

  // delete(VICTIM) with link count 0 succeeded, and fsck then found nothing wrong.
  @ParameterizedTest(name = "link count {0}")
  @ValueSource(ints = {0, 2})
  void changesThroughAFileWhoseLinkCountIsNotOne_areRefused_readsStillWork(int links) throws IOException {
    OperationDamageMatrixTest.Base base = OperationDamageMatrixTest.base(true);
    OperationDamageMatrixTest.Edit e = new OperationDamageMatrixTest.Edit(base);
    long victim = base.ino(VICTIM);
    e.inode(victim, (b, off) -> Bytes.put32(b, off + 8, links));
    byte[] content = base.files().get(VICTIM);
    long block = e.tableBlock(victim);
    String message = VICTIM + ": its directory entry names inode " + victim + ", a file with link count " + links
        + " where a file has 1";
    PowerLossDevice dev = PowerLossDevice.fromImage(e.image);
    try (VirtualDisk d = VirtualDisk.open(dev, OpenOptions.defaults())) {
      refused(() -> d.delete(VICTIM), "delete", message, block);
      refused(() -> d.deleteRecursively(VICTIM), "rm -r", message, block);
      refused(() -> d.writeFile(VICTIM, new byte[] {1, 2}), "writeFile", message, block);
      // A streamed write refuses what it can before it reads the stream (a put of gigabytes over a damaged file
      // read them all, and staged them, to be refused at the end).
      boolean[] read = {false};
      InputStream unread = new InputStream() {
        @Override
        public int read() {
          read[0] = true;
          return -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
          read[0] = true;
          return -1;
        }
      };
      refused(() -> d.writeFile(VICTIM, unread), "streamed writeFile", message, block);
      assertThat(read[0]).as("streamed writeFile refused before the stream is read").isFalse();
      refused(() -> d.write(VICTIM, 0, new byte[] {1}, 0, 1), "write", message, block);
      refused(() -> d.append(VICTIM, new byte[] {1}), "append", message, block);
      refused(() -> d.truncate(VICTIM, 0), "truncate", message, block);
      refused(() -> d.rename(VICTIM, "/moved"), "rename", message, block);
      refused(() -> d.rename("/keep", VICTIM), "rename onto", message, block);
      refused(() -> Tags.set(d, VICTIM, "color", "red"), "tag set", message, block);
      // Reading is how the content is saved; it goes through.
      assertThat(d.readFile(VICTIM)).isEqualTo(content);
      assertThat(d.stat(VICTIM).linkCount()).isEqualTo(links);
      assertThat(Tags.get(d, VICTIM, "color")).isEqualTo("blue");
      // A healthy file next to it is changed as usual.
      d.writeFile(OperationDamageMatrixTest.HEALTHY, new byte[] {7});
    }
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(dev.snapshot()), OpenOptions.readOnlyOptions())) {
      assertThat(d.readFile(VICTIM)).isEqualTo(content);
      assertThat(d.readFile("/keep")).isEqualTo(base.files().get("/keep"));
      assertThat(d.verify(Progress.NONE).problems()).anySatisfy(p -> assertThat(p.toString())
          .contains("file inode " + victim + " has link count " + links + ", expected 1"));
    }
  }

  // delete(SUB) of the emptied directory with a count of 0 (or 3) succeeded.
  @ParameterizedTest(name = "link count {0}")
  @ValueSource(ints = {0, 3})
  void deletingAnEmptyDirectoryWhoseLinkCountIsNotTwo_isRefused(int links) throws IOException {
    OperationDamageMatrixTest.Base base = OperationDamageMatrixTest.base(false);
    OperationDamageMatrixTest.Edit e = new OperationDamageMatrixTest.Edit(base);
    long sub = base.ino(SUB);
    e.inode(sub, (b, off) -> Bytes.put32(b, off + 8, links));
    PowerLossDevice dev = PowerLossDevice.fromImage(e.image);
    try (VirtualDisk d = VirtualDisk.open(dev, OpenOptions.defaults())) {
      d.delete(SUB + "/x");
      refused(() -> d.delete(SUB), "delete", SUB + ": directory inode " + sub + " lists no entries but has link "
          + "count " + links + " where an empty directory has 2", e.tableBlock(sub));
      refused(() -> d.deleteRecursively(SUB), "rm -r", "link count " + links, e.tableBlock(sub));
      assertThat(d.stat(SUB).linkCount()).isEqualTo(links);
      assertThat(d.list(SUB)).isEmpty();
      // A healthy empty directory is deleted as usual.
      d.mkdir("/d/empty");
      d.delete("/d/empty");
      assertThat(d.exists("/d/empty")).isFalse();
    }
    try (VirtualDisk d = VirtualDisk.open(PowerLossDevice.fromImage(dev.snapshot()), OpenOptions.readOnlyOptions())) {
      for (Map.Entry<String, byte[]> f : base.files().entrySet()) {
        if (!f.getKey().equals(SUB + "/x")) {
          assertThat(d.readFile(f.getKey())).as(f.getKey()).isEqualTo(f.getValue());
        }
      }
      assertThat(d.exists(SUB)).isTrue();
    }
  }
}
