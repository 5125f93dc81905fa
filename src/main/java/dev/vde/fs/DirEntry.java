package dev.vde.fs;

/**
 * One entry of a directory listing; {@code path} is absolute, {@code size} is 0 for directories and -1 where the
 * listing did not read the entry's inode ({@link VirtualDisk#listEntries}).
 */
public record DirEntry(String name, String path, long inode, FileType type, long size) {}
