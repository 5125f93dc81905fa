package dev.vde.reliability;

import dev.vde.format.MigrationCheckpoint;
import dev.vde.format.Module;
import dev.vde.fs.VirtualDisk;
import dev.vde.module.InodeMigration;
import dev.vde.module.Tags;
import dev.vde.testing.FsModel;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the reliability tests expect a volume to hold beyond its file tree: the active modules (manifest) and the
 * values of the two module fields the engine can encode, Transit (one byte) and Tags. Files missing from
 * {@link #transit} read as 0 and files missing from {@link #tags} have no tags, which is what a freshly claimed
 * or migrated field holds, so only values a workload set have to be tracked.
 *
 * <p>Mutators mirror {@link VirtualDisk} and module calls on valid arguments only, like {@link FsModel}: a
 * workload issues only operations that the model says are valid.
 */
final class VolumeModel {
  final FsModel tree;
  long manifest;
  /** Modules a pending inode migration adds (its checkpoint's target), 0 when none is pending. */
  long pending;
  final TreeMap<String, Byte> transit;
  final TreeMap<String, TreeMap<String, String>> tags;

  VolumeModel() {
    this(new FsModel(), 0, new TreeMap<>(), new TreeMap<>());
  }

  private VolumeModel(FsModel tree, long manifest, TreeMap<String, Byte> transit,
      TreeMap<String, TreeMap<String, String>> tags) {
    this.tree = tree;
    this.manifest = manifest;
    this.transit = transit;
    this.tags = tags;
  }

  VolumeModel copy() {
    TreeMap<String, TreeMap<String, String>> t = new TreeMap<>();
    tags.forEach((k, v) -> t.put(k, new TreeMap<>(v)));
    VolumeModel m = new VolumeModel(tree.copy(), manifest, new TreeMap<>(transit), t);
    m.pending = pending;
    return m;
  }

  boolean has(Module m) {
    return (manifest & m.bit()) != 0;
  }

  // ------------------------------------------------------------------------------------------------ mutators

  void addModules(List<Module> ms) {
    manifest |= Module.manifestOf(ms);
  }

  void setTransit(String path, byte value) {
    if (value == 0) {
      transit.remove(path);
    } else {
      transit.put(path, value);
    }
  }

  void setTag(String path, String key, String value) {
    tags.computeIfAbsent(path, k -> new TreeMap<>()).put(key, value);
  }

  void removeTag(String path, String key) {
    TreeMap<String, String> t = tags.get(path);
    if (t != null) {
      t.remove(key);
      if (t.isEmpty()) {
        tags.remove(path);
      }
    }
  }

  /** writeFile: a replaced file keeps its inode, and with it its module fields. */
  void writeFile(String path, byte[] data) {
    tree.writeFile(path, data);
  }

  void delete(String path) {
    tree.delete(path);
    transit.remove(path);
    tags.remove(path);
  }

  /** Moves the fields of a renamed file, or of every file below a renamed directory, with it. */
  void rename(String from, String to) {
    tree.rename(from, to);
    moveKeys(transit, from, to);
    moveKeys(tags, from, to);
  }

  private static <V> void moveKeys(TreeMap<String, V> map, String from, String to) {
    String prefix = from + "/";
    TreeMap<String, V> moved = new TreeMap<>();
    map.entrySet().removeIf(e -> {
      String k = e.getKey();
      if (k.equals(from) || k.startsWith(prefix)) {
        moved.put(to + k.substring(from.length()), e.getValue());
        return true;
      }
      return false;
    });
    map.putAll(moved);
  }

  // ------------------------------------------------------------------------------------------------ reading

  /** Reads tree, manifest and every file's Transit and Tags field (when the module is active) from a disk. */
  static VolumeModel readFrom(VirtualDisk disk) throws IOException {
    FsModel tree = FsModel.readFrom(disk);
    VolumeModel out = new VolumeModel(tree, disk.volume().superblock().moduleManifest(), new TreeMap<>(),
        new TreeMap<>());
    if (InodeMigration.isPending(disk)) {
      MigrationCheckpoint c = InodeMigration.status(disk);
      // A pending migration without a readable checkpoint is damage no crash may cause: it shows as -1, which no
      // expected model has.
      out.pending = c == null ? -1 : c.targetModules();
    }
    for (String f : tree.files().keySet()) {
      if (out.has(Module.TRANSIT)) {
        byte[] v = disk.readModuleField(f, Module.TRANSIT);
        if (v.length != 1) {
          throw new AssertionError("Transit field of " + f + " has " + v.length + " bytes, expected 1");
        }
        out.setTransit(f, v[0]);
      }
      if (out.has(Module.TAGS)) {
        TreeMap<String, String> t = Tags.list(disk, f);
        if (!t.isEmpty()) {
          out.tags.put(f, t);
        }
      }
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------------ comparing

  /** Differences from {@code expected} to this model, one line each; empty when equal. */
  List<String> diff(VolumeModel expected) {
    List<String> out = new ArrayList<>(tree.diff(expected.tree));
    if (pending != expected.pending) {
      out.add("pending migration adding " + describePending(pending) + ", expected "
          + describePending(expected.pending));
    }
    if (manifest != expected.manifest) {
      out.add("modules " + Module.fromManifest(manifest) + ", expected " + Module.fromManifest(expected.manifest));
    }
    diffMap("Transit", transit, expected.transit, out);
    diffMap("Tags", tags, expected.tags, out);
    return out;
  }

  private static <V> void diffMap(String what, Map<String, V> have, Map<String, V> want, List<String> out) {
    TreeMap<String, Boolean> keys = new TreeMap<>();
    have.keySet().forEach(k -> keys.put(k, true));
    want.keySet().forEach(k -> keys.put(k, true));
    for (String k : keys.keySet()) {
      V h = have.get(k);
      V w = want.get(k);
      if (h == null ? w != null : !h.equals(w)) {
        out.add(what + " of " + k + " is " + h + ", expected " + w);
      }
    }
  }

  static String describePending(long bits) {
    return bits == 0 ? "none" : bits == -1 ? "(unreadable checkpoint)" : Module.fromManifest(bits).toString();
  }

  boolean sameAs(VolumeModel other) {
    return diff(other).isEmpty();
  }

  @Override
  public String toString() {
    return tree + " modules=" + Module.fromManifest(manifest) + " pending=" + describePending(pending) + " transit="
        + transit + " tags=" + tags;
  }
}
