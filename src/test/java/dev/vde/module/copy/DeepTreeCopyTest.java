package dev.vde.module.copy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.fs.CreateOptions;
import dev.vde.fs.OpenOptions;
import dev.vde.fs.VirtualDisk;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A valid but deep directory tree (each level one directory inside the last) copied with {@code verify}: the
 * comparison walked the tree by recursion, one stack frame chain per level, so a tree a few thousand levels deep
 * ended the copy in StackOverflowError. The copy runs on a thread with a small stack, as a deeper tree would on
 * any stack.
 */
class DeepTreeCopyTest {
  @TempDir Path tmp;

  @Test
  void aDeepTreeIsCopiedAndVerified() throws Exception {
    Path src = tmp.resolve("deep.vde");
    int depth = 1_000;
    StringBuilder path = new StringBuilder();
    for (int i = 0; i < depth; i++) {
      path.append("/d");
    }
    String leaf = path + "/leaf";
    try (VirtualDisk d = VirtualDisk.create(src, CreateOptions.ofSize(64L << 20).inodeCount(depth + 100))) {
      d.batch(b -> {
        StringBuilder p = new StringBuilder();
        for (int i = 0; i < depth; i++) {
          p.append("/d");
          b.mkdir(p.toString());
        }
        b.writeFile(leaf, new byte[] {1, 2, 3});
      });
    }
    Path dst = tmp.resolve("copy.vde");
    CompletableFuture<Object> done = new CompletableFuture<>();
    Thread t = new Thread(null, () -> {
      try {
        done.complete(ExtentAwareCopy.copy(src, dst, CopyOptions.defaults().verify(true)));
      } catch (Throwable e) {
        done.complete(e);
      }
    }, "small-stack-copy", 128 * 1024);
    t.start();
    Object outcome = done.get(60, TimeUnit.SECONDS);
    assertThat(outcome).isInstanceOf(CopyResult.class);
    assertThat(((CopyResult) outcome).verified()).isTrue();
    try (VirtualDisk c = VirtualDisk.open(dst, OpenOptions.readOnlyOptions())) {
      assertThat(c.readFile(leaf)).containsExactly(1, 2, 3);
    }
  }
}
