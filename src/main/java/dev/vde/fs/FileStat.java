package dev.vde.fs;

/** What {@link VirtualDisk#stat} reports about one path. Times are milliseconds since the epoch. */
public record FileStat(String path, long inode, FileType type, long size, long linkCount, long created,
    long modified, int extentCount) {}
