package dev.vde.module;

import dev.vde.format.InodeLayout;

/**
 * What a migration run did.
 *
 * @param inodesCopied inodes copied by this run (a resumed run counts only its own work)
 * @param cancelled true when it stopped on request at a checkpoint and can be resumed
 */
public record MigrationResult(long migrationId, long totalInodes, long inodesCopied, long durationMillis,
    InodeLayout newLayout, boolean cancelled) {}
