package dev.vde.wal;

/**
 * A file data block written outside the WAL by a transaction, with the checksum its trailer must carry. Recovery
 * replays the transaction only if every such block reads back with this checksum; this lets a small transaction
 * make its data and its metadata durable with one sync instead of two.
 */
public record DataCheck(long blockNo, long checksum) {}
