package dev.vde.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The model is the oracle of every engine test, so its own semantics are pinned down here. */
class FsModelTest {

  @Test
  void write_pastTheEnd_fillsTheGapWithZeros_butAnEmptyWriteChangesNothing() {
    FsModel m = new FsModel();
    m.writeFile("/f", new byte[] {1, 2});
    m.write("/f", 4, new byte[] {9});
    assertThat(m.content("/f")).containsExactly(1, 2, 0, 0, 9);
    m.write("/f", 10, new byte[0]);
    assertThat(m.content("/f")).hasSize(5);
    m.write("/f", 1, new byte[] {7, 7});
    assertThat(m.content("/f")).containsExactly(1, 7, 7, 0, 9);
  }

  @Test
  void truncate_shortensOrExtendsWithZeros() {
    FsModel m = new FsModel();
    m.writeFile("/f", new byte[] {1, 2, 3});
    m.truncate("/f", 1);
    assertThat(m.content("/f")).containsExactly(1);
    m.truncate("/f", 3);
    assertThat(m.content("/f")).containsExactly(1, 0, 0);
  }

  @Test
  void renameOfADirectory_movesItsWholeSubtree() {
    FsModel m = new FsModel();
    m.mkdir("/a");
    m.mkdir("/a/b");
    m.writeFile("/a/b/f", new byte[] {5});
    m.writeFile("/ab", new byte[] {6});
    m.rename("/a", "/z");
    assertThat(m.dirs()).containsExactly("/z", "/z/b");
    assertThat(m.files().keySet()).containsExactly("/ab", "/z/b/f");
    assertThat(m.content("/ab")).as("a sibling sharing the name prefix is not moved").containsExactly(6);
  }

  @Test
  void invalidRequests_areRejectedByTheModel() {
    FsModel m = new FsModel();
    m.mkdir("/a");
    m.writeFile("/a/f", new byte[0]);
    assertThatThrownBy(() -> m.delete("/a")).as("non-empty directory").isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> m.rename("/a", "/a/x")).as("into itself").isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> m.mkdir("/a")).as("exists").isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> m.writeFile("/missing/f", new byte[0])).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> m.writeFile("/a", new byte[0])).as("a directory")
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void diff_namesEveryDifference_andCopiesAreIndependent() {
    FsModel a = new FsModel();
    a.mkdir("/d");
    a.writeFile("/d/f", new byte[] {1, 2, 3});
    FsModel b = a.copy();
    assertThat(b.diff(a)).isEmpty();
    b.write("/d/f", 1, new byte[] {9});
    b.mkdir("/e");
    b.writeFile("/g", new byte[0]);
    assertThat(a.content("/d/f")).as("the copy is deep").containsExactly(1, 2, 3);
    assertThat(b.diff(a)).hasSize(3).anyMatch(s -> s.contains("/d/f differs") && s.contains("offset 1"))
        .anyMatch(s -> s.contains("unexpected directory /e")).anyMatch(s -> s.contains("unexpected file /g"));
    assertThat(a.diff(b)).anyMatch(s -> s.contains("missing directory /e"));
    assertThat(a.sameAs(b)).isFalse();
  }
}
