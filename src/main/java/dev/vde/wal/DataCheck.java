package dev.vde.wal;

/**
 * A file data block written outside the WAL by a transaction: the checksum its trailer must carry, and its
 * trailer's generation (the owning inode's number, low 32 bits). Recovery replays the transaction only if every
 * such block reads back as a {@code DATA} block with this checksum and generation; this lets a small transaction
 * make its data and its metadata durable with one sync instead of two.
 *
 * <p>Why the generation too: the trailer checksum covers the payload only, so a block that kept older content
 * with the same payload (zeros, or a file written again under another inode) would match the checksum alone
 * although the new write never reached it, and the replayed file would map a block whose trailer names another
 * owner.
 */
public record DataCheck(long blockNo, long checksum, int generation) {}
