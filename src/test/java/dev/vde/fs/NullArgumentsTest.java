package dev.vde.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vde.Progress;
import dev.vde.VdeInvalidArgumentException;
import dev.vde.format.BlockType;
import dev.vde.format.InodeLayout;
import dev.vde.format.Module;
import dev.vde.format.RegionDirectory;
import dev.vde.format.Superblock;
import dev.vde.io.BlockDevice;
import dev.vde.testing.PowerLossDevice;
import dev.vde.testing.TestVolumes;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A null argument to the public API of the file-system facade is refused at once, with a message that names the
 * parameter: a {@code NullPointerException} (a broken contract, as {@link VirtualDisk}'s class comment says) or the
 * engine's {@link VdeInvalidArgumentException} where the engine already refused it so. Several used to fail later,
 * with a bare {@code NullPointerException} from inside the engine that named nothing (a null stream handed to
 * {@code readFile}, a null module to {@code readModuleField}, a null path to {@code open}), some after taking the
 * writer lock or reading the file.
 *
 * <p>The test walks every public method and constructor of the covered classes by reflection, and each reference
 * parameter must be listed either in {@link #NAMES} (what its message must name) or in {@link #MAY_BE_NULL}, so a
 * new method cannot slip past it. Each listed parameter is then passed null, with valid values for the others.
 */
class NullArgumentsTest {
  @TempDir
  Path tmp;

  private static final List<Class<?>> COVERED = List.of(VirtualDisk.class, CreateOptions.class, OpenOptions.class,
      FormatTransaction.class, MigrationTarget.class, VolumeInfo.class, VolumeInfo.Migration.class);

  /** Parameter (see {@link #key}) to a word its null's message must contain. */
  private static final Map<String, String> NAMES = Map.ofEntries(
      Map.entry("VirtualDisk.create(Path,CreateOptions)#0", "path"),
      Map.entry("VirtualDisk.create(Path,CreateOptions)#1", "options"),
      Map.entry("VirtualDisk.create(BlockDevice,CreateOptions)#0", "device"),
      Map.entry("VirtualDisk.create(BlockDevice,CreateOptions)#1", "options"),
      Map.entry("VirtualDisk.open(Path)#0", "path"),
      Map.entry("VirtualDisk.open(Path,OpenOptions)#0", "path"),
      Map.entry("VirtualDisk.open(Path,OpenOptions)#1", "options"),
      Map.entry("VirtualDisk.open(BlockDevice,OpenOptions)#0", "device"),
      Map.entry("VirtualDisk.open(BlockDevice,OpenOptions)#1", "options"),
      Map.entry("VirtualDisk.setCommitWindow(Duration)#0", "window"),
      Map.entry("VirtualDisk.batch(BatchWork)#0", "work"),
      Map.entry("VirtualDisk.writeFile(String,byte[])#0", "path"),
      Map.entry("VirtualDisk.writeFile(String,byte[])#1", "data"),
      Map.entry("VirtualDisk.writeFile(String,InputStream)#0", "path"),
      Map.entry("VirtualDisk.writeFile(String,InputStream)#1", "in"),
      Map.entry("VirtualDisk.readFile(String)#0", "path"),
      Map.entry("VirtualDisk.readFile(String,OutputStream)#0", "path"),
      Map.entry("VirtualDisk.readFile(String,OutputStream)#1", "out"),
      Map.entry("VirtualDisk.read(String,long,byte[],int,int)#0", "path"),
      Map.entry("VirtualDisk.read(String,long,byte[],int,int)#2", "buffer"),
      Map.entry("VirtualDisk.write(String,long,byte[],int,int)#0", "path"),
      Map.entry("VirtualDisk.write(String,long,byte[],int,int)#2", "buffer"),
      Map.entry("VirtualDisk.append(String,byte[])#0", "path"),
      Map.entry("VirtualDisk.append(String,byte[])#1", "data"),
      Map.entry("VirtualDisk.truncate(String,long)#0", "path"),
      Map.entry("VirtualDisk.delete(String)#0", "path"),
      Map.entry("VirtualDisk.deleteRecursively(String)#0", "path"),
      Map.entry("VirtualDisk.rename(String,String)#0", "from"),
      Map.entry("VirtualDisk.rename(String,String)#1", "to"),
      Map.entry("VirtualDisk.mkdir(String)#0", "path"),
      Map.entry("VirtualDisk.mkdirs(String)#0", "path"),
      Map.entry("VirtualDisk.list(String)#0", "path"),
      Map.entry("VirtualDisk.listEntries(String)#0", "path"),
      Map.entry("VirtualDisk.stat(String)#0", "path"),
      Map.entry("VirtualDisk.exists(String)#0", "path"),
      Map.entry("VirtualDisk.changeFormat(FormatWork)#0", "work"),
      Map.entry("VirtualDisk.readModuleField(String,Module)#0", "path"),
      Map.entry("VirtualDisk.readModuleField(String,Module)#1", "module"),
      Map.entry("VirtualDisk.readModuleField(String,Module,FieldReader)#0", "path"),
      Map.entry("VirtualDisk.readModuleField(String,Module,FieldReader)#1", "module"),
      Map.entry("VirtualDisk.readModuleField(String,Module,FieldReader)#2", "reader"),
      Map.entry("VirtualDisk.writeModuleField(String,Module,byte[])#0", "path"),
      Map.entry("VirtualDisk.writeModuleField(String,Module,byte[])#1", "module"),
      Map.entry("VirtualDisk.writeModuleField(String,Module,byte[])#2", "value"),
      Map.entry("VirtualDisk.updateModuleField(String,Module,FieldUpdate)#0", "path"),
      Map.entry("VirtualDisk.updateModuleField(String,Module,FieldUpdate)#1", "module"),
      Map.entry("VirtualDisk.updateModuleField(String,Module,FieldUpdate)#2", "update"),
      Map.entry("VirtualDisk.updateModuleField(String,Module,InodeFieldUpdate)#0", "path"),
      Map.entry("VirtualDisk.updateModuleField(String,Module,InodeFieldUpdate)#1", "module"),
      Map.entry("VirtualDisk.updateModuleField(String,Module,InodeFieldUpdate)#2", "update"),
      Map.entry("CreateOptions.modules(Set)#0", "modules"),
      Map.entry("CreateOptions.module(Module)#0", "module"),
      Map.entry("FormatTransaction.setSuperblock(Superblock)#0", "superblock"),
      Map.entry("FormatTransaction.setRegions(RegionDirectory)#0", "regions"),
      Map.entry("FormatTransaction.read(long,BlockType)#1", "type"),
      Map.entry("FormatTransaction.put(long,BlockType,int,byte[])#1", "type"),
      Map.entry("FormatTransaction.put(long,BlockType,int,byte[])#3", "content"),
      Map.entry("FormatTransaction.onPublish(Runnable)#0", "action"),
      Map.entry("MigrationTarget(long,long,InodeLayout,InodeLayout,int,long)#2", "from"),
      Map.entry("MigrationTarget(long,long,InodeLayout,InodeLayout,int,long)#3", "to"),
      Map.entry("MigrationTarget.isCopiedBlock(byte[],long)#0", "block"),
      Map.entry("VolumeInfo.Migration(String,long,long,List)#3", "adding"),
      Map.entry("VolumeInfo(String,int,int,int,long,long,int,long,long,List,List,UUID,String,long,long,long,int,"
          + "String,List,Migration)#9", "modules"),
      Map.entry("VolumeInfo(String,int,int,int,long,long,int,long,long,List,List,UUID,String,long,long,long,int,"
          + "String,List,Migration)#10", "regions"),
      Map.entry("VolumeInfo(String,int,int,int,long,long,int,long,long,List,List,UUID,String,long,long,long,int,"
          + "String,List,Migration)#18", "warnings"));

  /** Parameters for which null is a value: each with why. */
  private static final Map<String, String> MAY_BE_NULL = Map.ofEntries(
      Map.entry("CreateOptions.label(String)#0", "the empty label"),
      Map.entry("VirtualDisk.verify(Progress)#0", "no progress reports, as Progress.NONE"),
      Map.entry("VolumeInfo.Migration(String,long,long,List)#0", "a value record: stored as given"),
      Map.entry("VolumeInfo(String,int,int,int,long,long,int,long,long,List,List,UUID,String,long,long,long,int,"
          + "String,List,Migration)#0", "a value record: stored as given"),
      Map.entry("VolumeInfo(String,int,int,int,long,long,int,long,long,List,List,UUID,String,long,long,long,int,"
          + "String,List,Migration)#11", "a value record: stored as given"),
      Map.entry("VolumeInfo(String,int,int,int,long,long,int,long,long,List,List,UUID,String,long,long,long,int,"
          + "String,List,Migration)#12", "a value record: stored as given"),
      Map.entry("VolumeInfo(String,int,int,int,long,long,int,long,long,List,List,UUID,String,long,long,long,int,"
          + "String,List,Migration)#17", "documented: null when writable"),
      Map.entry("VolumeInfo(String,int,int,int,long,long,int,long,long,List,List,UUID,String,long,long,long,int,"
          + "String,List,Migration)#19", "documented: null when no migration is pending"));

  private static String key(Executable e, int index) {
    String owner = e.getDeclaringClass().getSimpleName();
    if (e.getDeclaringClass().getEnclosingClass() != null) {
      owner = e.getDeclaringClass().getEnclosingClass().getSimpleName() + "." + owner;
    }
    String params = java.util.Arrays.stream(e.getParameterTypes()).map(Class::getSimpleName)
        .collect(Collectors.joining(","));
    return (e instanceof Constructor ? owner : owner + "." + e.getName()) + "(" + params + ")#" + index;
  }

  /** The public methods and constructors of the covered classes, by each reference parameter's key. */
  private static Map<String, Executable> referenceParameters() {
    Map<String, Executable> out = new TreeMap<>();
    for (Class<?> c : COVERED) {
      List<Executable> all = new ArrayList<>(List.of(c.getConstructors()));
      for (Method m : c.getDeclaredMethods()) {
        if (Modifier.isPublic(m.getModifiers()) && !m.isSynthetic() && !m.getName().equals("equals")) {
          all.add(m);
        }
      }
      for (Executable e : all) {
        Class<?>[] types = e.getParameterTypes();
        for (int i = 0; i < types.length; i++) {
          if (!types[i].isPrimitive()) {
            out.put(key(e, i), e);
          }
        }
      }
    }
    return out;
  }

  @Test
  void everyReferenceParameterOfTheCoveredClassesIsListed() {
    Set<String> found = referenceParameters().keySet();
    assertThat(found).as("parameters neither in NAMES nor in MAY_BE_NULL: add them, with what null gives")
        .allMatch(k -> NAMES.containsKey(k) || MAY_BE_NULL.containsKey(k));
    assertThat(NAMES.keySet()).as("NAMES entries no public method has (renamed or removed?)").allMatch(found::contains);
    assertThat(MAY_BE_NULL.keySet()).as("MAY_BE_NULL entries no public method has").allMatch(found::contains);
  }

  @Test
  void aNullArgumentIsRefusedAtOnce_withAMessageNamingTheParameter() throws Exception {
    Map<String, Executable> params = referenceParameters();
    List<String> wrong = new ArrayList<>();
    int checked = 0;
    for (Map.Entry<String, String> n : NAMES.entrySet()) {
      Executable e = params.get(n.getKey());
      if (e == null) {
        continue; // reported by the test above
      }
      int index = Integer.parseInt(n.getKey().substring(n.getKey().indexOf('#') + 1));
      Throwable thrown = callWithNull(e, index);
      checked++;
      if (thrown == null) {
        wrong.add(n.getKey() + ": no exception");
      } else if (!(thrown instanceof NullPointerException || thrown instanceof VdeInvalidArgumentException)
          || thrown.getMessage() == null || !thrown.getMessage().contains(n.getValue())
          || thrown.getMessage().contains("because \"")) {
        // The last: the JDK's own message for a null dereferenced somewhere inside, which may well name a local
        // variable that happens to be called like the parameter.
        wrong.add(n.getKey() + ": " + thrown + " (at " + (thrown.getStackTrace().length > 0
            ? thrown.getStackTrace()[0] : "?") + "), which does not name '" + n.getValue() + "'");
      }
    }
    assertThat(checked).isEqualTo(NAMES.size());
    assertThat(wrong).as("null arguments not refused with a message naming the parameter").isEmpty();
  }

  /** What {@code e} throws when called with null at {@code index} and valid values elsewhere; null if nothing. */
  private Throwable callWithNull(Executable e, int index) throws Exception {
    try (TestVolumes.Volume v = testVolume()) {
      VirtualDisk d = v.disk();
      Class<?>[] types = e.getParameterTypes();
      Object[] args = new Object[types.length];
      for (int i = 0; i < types.length; i++) {
        args[i] = i == index ? null : sample(e, i, types[i], d);
      }
      if (e.getDeclaringClass() == FormatTransaction.class) {
        Throwable[] inside = {null};
        try {
          d.changeFormat(tx -> {
            inside[0] = invoke(e, tx, args);
            return null;
          });
        } catch (java.io.IOException | RuntimeException x) {
          return inside[0] != null ? inside[0] : new AssertionError("accepted, then failed the commit: " + x, x);
        }
        return inside[0];
      }
      Object target = e instanceof Method m && !Modifier.isStatic(m.getModifiers())
          ? (e.getDeclaringClass() == VirtualDisk.class ? d
              : e.getDeclaringClass() == CreateOptions.class ? TestVolumes.options(512) : OpenOptions.defaults())
          : null;
      return invoke(e, target, args);
    }
  }

  private static Throwable invoke(Executable e, Object target, Object[] args) throws java.io.IOException {
    try {
      Object r = e instanceof Method m ? m.invoke(target, args) : ((Constructor<?>) e).newInstance(args);
      if (r instanceof VirtualDisk opened) {
        opened.close();
      }
      return null;
    } catch (InvocationTargetException x) {
      return x.getCause();
    } catch (ReflectiveOperationException x) {
      throw new AssertionError("cannot call " + e, x);
    }
  }

  private static TestVolumes.Volume testVolume() throws Exception {
    PowerLossDevice dev = new PowerLossDevice("null-arguments");
    VirtualDisk d = VirtualDisk.create(dev, TestVolumes.options(512).module(Module.TAGS));
    d.writeFile("/f", new byte[] {1, 2, 3});
    d.mkdir("/d");
    return new TestVolumes.Volume(dev, d);
  }

  private int files;

  /** A valid value for parameter {@code i} of {@code e}, of type {@code type}, on the test volume {@code d}. */
  private Object sample(Executable e, int i, Class<?> type, VirtualDisk d) throws Exception {
    if (type == int.class || type == long.class) {
      // A metadata block other than a superblock for FormatTransaction's block numbers; zero lengths elsewhere.
      return e.getDeclaringClass() == FormatTransaction.class && i == 0 ? (Object) 2L
          : type == int.class ? (Object) (e.getDeclaringClass() == MigrationTarget.class ? 512 : 0) : (Object) 0L;
    }
    if (type == boolean.class) {
      return false;
    }
    if (type == String.class) {
      return e.getName().equals("rename") && i == 1 ? "/g" : "/f";
    }
    if (type == byte[].class) {
      return e.getDeclaringClass() == FormatTransaction.class ? new byte[512] : new byte[] {1};
    }
    if (type == Path.class) {
      if (e.getName().equals("create")) {
        return tmp.resolve("new-" + files++ + ".vde");
      }
      Path p = tmp.resolve("existing-" + files++ + ".vde");
      VirtualDisk.create(p, CreateOptions.ofSize(16L << 20)).close();
      return p;
    }
    if (type == BlockDevice.class) {
      if (e.getName().equals("create")) {
        return new PowerLossDevice("null-arguments-new");
      }
      PowerLossDevice p = new PowerLossDevice("null-arguments-existing");
      VirtualDisk.create(p, TestVolumes.options(512)).close();
      return p;
    }
    if (type == CreateOptions.class) {
      return TestVolumes.options(512);
    }
    if (type == OpenOptions.class) {
      return OpenOptions.defaults();
    }
    if (type == Duration.class) {
      return Duration.ZERO;
    }
    if (type == InputStream.class) {
      return new ByteArrayInputStream(new byte[] {1});
    }
    if (type == OutputStream.class) {
      return new ByteArrayOutputStream();
    }
    if (type == Module.class) {
      return Module.TAGS;
    }
    if (type == Set.class) {
      return EnumSet.of(Module.TAGS);
    }
    if (type == List.class) {
      return List.of();
    }
    if (type == UUID.class) {
      return new UUID(1, 2);
    }
    if (type == Progress.class) {
      return Progress.NONE;
    }
    if (type == BlockType.class) {
      return BlockType.values()[0];
    }
    if (type == Superblock.class) {
      return d.volume().superblock();
    }
    if (type == RegionDirectory.class) {
      return d.volume().regions();
    }
    if (type == InodeLayout.class) {
      return d.volume().superblock().layout();
    }
    if (type == VolumeInfo.Migration.class) {
      return new VolumeInfo.Migration("COPYING", 0, 0, List.of());
    }
    if (type.isInterface()) {
      // A callback (BatchWork, FormatWork, FieldReader, FieldUpdate, Runnable...) that does nothing: the null
      // parameter must be refused before any callback runs anyway.
      return Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (proxy, m, a) ->
          m.getDeclaringClass() == Object.class ? (m.getName().equals("equals") ? proxy == a[0]
              : m.getName().equals("hashCode") ? (Object) System.identityHashCode(proxy) : type.getSimpleName())
          : m.getReturnType() == byte[].class ? new byte[Module.TAGS.inodeBytes()] : null);
    }
    throw new AssertionError("no sample value for " + type + " in " + key(e, i));
  }
}
