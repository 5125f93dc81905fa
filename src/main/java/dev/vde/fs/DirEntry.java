package dev.vde.fs;

/** One entry of a directory listing; {@code path} is absolute, {@code size} is 0 for directories. */
public record DirEntry(String name, String path, long inode, FileType type, long size) {}
