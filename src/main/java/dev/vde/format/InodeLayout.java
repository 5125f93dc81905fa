package dev.vde.format;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Where each active module's bytes sit inside an inode: the core (fixed, {@link #CORE_SIZE} bytes), then module
 * fields, then zero padding up to a multiple of {@link #ALIGNMENT}.
 *
 * <p>Invariants, checked by {@link #problems()}: (1) every field lies in {@code [CORE_SIZE, inodeSize)};
 * (2) no two fields overlap; (3) {@code inodeSize} is a multiple of 64; (4) each field's size equals its
 * module's registered inode bytes; (5) at most one field per module. A canonical layout has its fields in
 * module-id order with no gaps; a layout that grew by claiming padding may have later ids at lower offsets
 * (the field goes at the first free byte), which is why the descriptor stores offsets rather than deriving them.
 */
public record InodeLayout(int inodeSize, List<Field> fields) {
  /** Bytes of the inode core; see {@code inode.Inode} for its fields. */
  public static final int CORE_SIZE = 304;
  public static final int ALIGNMENT = 64;
  /** Bytes one field entry takes in the superblock. */
  public static final int FIELD_ENTRY_SIZE = 8;
  /** Largest encoded descriptor: the superblock and the migration checkpoint reserve this much for it. */
  public static final int MAX_ENCODED_SIZE = 160;
  /** Most fields a descriptor holds: {@code 8 + 8 * 19 = 160} bytes. */
  public static final int MAX_FIELDS = (MAX_ENCODED_SIZE - 8) / FIELD_ENTRY_SIZE;

  /** One module's field: {@code size} bytes at {@code offset} from the start of the inode. */
  public record Field(int moduleId, int offset, int size) {
    public int end() {
      return offset + size;
    }

    // Written out rather than generated: a record's own equals is bootstrapped through method handles on its
    // first call, which costs a command-line run (a migration compares layouts once) some 20 ms.
    @Override
    public boolean equals(Object o) {
      return o instanceof Field f && f.moduleId == moduleId && f.offset == offset && f.size == size;
    }

    @Override
    public int hashCode() {
      return (moduleId * 31 + offset) * 31 + size;
    }
  }

  public InodeLayout {
    fields = List.copyOf(fields);
  }

  // Written out for the same reason as Field's.
  @Override
  public boolean equals(Object o) {
    return o instanceof InodeLayout l && l.inodeSize == inodeSize && l.fields.equals(fields);
  }

  @Override
  public int hashCode() {
    return inodeSize * 31 + fields.hashCode();
  }

  public static int align(int bytes) {
    return (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
  }

  /** Core, then the fields of every module in {@code manifest} with inode bytes, in id order, then padding. */
  public static InodeLayout canonical(long manifest) {
    List<Field> fs = new ArrayList<>();
    int off = CORE_SIZE;
    for (Module m : Module.fromManifest(manifest)) {
      if (m.inodeBytes() > 0) {
        fs.add(new Field(m.id(), off, m.inodeBytes()));
        off += m.inodeBytes();
      }
    }
    return new InodeLayout(align(off), fs);
  }

  /** First byte after the last field (or after the core). */
  public int usedEnd() {
    int end = CORE_SIZE;
    for (Field f : fields) {
      end = Math.max(end, f.end());
    }
    return end;
  }

  /** Free padding bytes at the end of each inode. */
  public int paddingBytes() {
    return inodeSize - usedEnd();
  }

  public Field fieldFor(int moduleId) {
    for (Field f : fields) {
      if (f.moduleId() == moduleId) {
        return f;
      }
    }
    return null;
  }

  public Field fieldFor(Module m) {
    return fieldFor(m.id());
  }

  /**
   * True when {@code m}'s field fits in the current padding and the descriptor has room for one more field (a pure
   * check, no I/O). Fields of modules this engine does not know count too: a twentieth field would make a
   * superblock no reader accepts.
   */
  public boolean canClaim(Module m) {
    return m.inodeBytes() > 0 && fieldFor(m) == null && m.inodeBytes() <= paddingBytes() && !descriptorFull();
  }

  /** Whether the descriptor already holds {@link #MAX_FIELDS} fields. */
  public boolean descriptorFull() {
    return fields.size() >= MAX_FIELDS;
  }

  /** This layout with {@code m}'s field at the first free padding byte; the inode size is unchanged. */
  public InodeLayout claim(Module m) {
    if (!canClaim(m)) {
      throw new IllegalStateException(m.abbreviation() + (descriptorFull() ? " needs a field, and the descriptor "
          + "holds " + MAX_FIELDS + " already" : " does not fit in " + paddingBytes() + " bytes of padding"));
    }
    List<Field> fs = new ArrayList<>(fields);
    fs.add(new Field(m.id(), usedEnd(), m.inodeBytes()));
    return new InodeLayout(inodeSize, fs);
  }

  /** Fields sorted by offset. */
  public List<Field> fieldsByOffset() {
    List<Field> fs = new ArrayList<>(fields);
    fs.sort(Comparator.comparingInt(Field::offset));
    return fs;
  }

  /** Descriptions of every broken invariant; empty when the layout is sound. */
  public List<String> problems() {
    List<String> out = new ArrayList<>();
    if (inodeSize < align(CORE_SIZE) || inodeSize % ALIGNMENT != 0 || inodeSize > 4096) {
      out.add("inode size " + inodeSize + " is not a multiple of 64 in [320, 4096]");
    }
    int prevEnd = CORE_SIZE;
    long seen = 0;
    for (Field f : fieldsByOffset()) {
      Module m = Module.byId(f.moduleId());
      // A module this engine does not know may still have a field (its feature class decides whether the volume
      // opens at all); only the geometry can be checked then.
      String name = m == null ? "module " + f.moduleId() : m.abbreviation();
      if (f.moduleId() > 63) {
        out.add("field for impossible module id " + f.moduleId());
        continue;
      }
      if ((seen & (1L << f.moduleId())) != 0) {
        out.add("two fields for " + name);
      }
      seen |= 1L << f.moduleId();
      if (m != null && f.size() != m.inodeBytes()) {
        out.add(name + " field is " + f.size() + " bytes, registry says " + m.inodeBytes());
      }
      if (f.size() == 0) {
        out.add(name + " field has size 0");
      }
      if (f.offset() < prevEnd) {
        out.add(name + " field at " + f.offset() + " overlaps the core or the previous field");
      }
      if (f.end() > inodeSize) {
        out.add(name + " field ends at " + f.end() + ", past the inode size " + inodeSize);
      }
      prevEnd = Math.max(prevEnd, f.end());
    }
    return out;
  }

  /** Manifest bits of the modules that have a field. */
  public long fieldManifest() {
    long m = 0;
    for (Field f : fields) {
      m |= 1L << f.moduleId();
    }
    return m;
  }

  /** Writes the descriptor: u16 coreSize, u16 fieldCount, u32 zero, then 8 bytes per field. */
  public void write(byte[] b, int off) {
    Bytes.put16(b, off, CORE_SIZE);
    Bytes.put16(b, off + 2, fields.size());
    Bytes.put32(b, off + 4, 0);
    int p = off + 8;
    for (Field f : fields) {
      Bytes.put16(b, p, f.moduleId());
      Bytes.put16(b, p + 2, f.offset());
      Bytes.put16(b, p + 4, f.size());
      Bytes.put16(b, p + 6, 0);
      p += FIELD_ENTRY_SIZE;
    }
  }

  /** Bytes the descriptor takes with {@code fieldCount} fields. */
  public static int encodedSize(int fieldCount) {
    return 8 + fieldCount * FIELD_ENTRY_SIZE;
  }

  /**
   * Reads a descriptor, checking its counts against {@code limit} (the end of the readable area). Returns null
   * with the reason in {@code why[0]} when it is malformed.
   */
  public static InodeLayout read(byte[] b, int off, int limit, int inodeSize, String[] why) {
    int core = Bytes.u16(b, off);
    int count = Bytes.u16(b, off + 2);
    if (core != CORE_SIZE) {
      why[0] = "inode core size " + core + ", expected " + CORE_SIZE;
      return null;
    }
    if (count > MAX_FIELDS || off + encodedSize(count) > limit) {
      why[0] = "inode layout has " + count + " fields, more than fit in the descriptor";
      return null;
    }
    List<Field> fs = new ArrayList<>();
    int p = off + 8;
    for (int i = 0; i < count; i++) {
      fs.add(new Field(Bytes.u16(b, p), Bytes.u16(b, p + 2), Bytes.u16(b, p + 4)));
      p += FIELD_ENTRY_SIZE;
    }
    InodeLayout l = new InodeLayout(inodeSize, fs);
    List<String> probs = l.problems();
    if (!probs.isEmpty()) {
      why[0] = "inode layout: " + String.join("; ", probs);
      return null;
    }
    return l;
  }
}
