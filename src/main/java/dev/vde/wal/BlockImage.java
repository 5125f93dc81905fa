package dev.vde.wal;

/**
 * The full, sealed new content of one metadata block. Block number 0 stands for "the superblock": its image is
 * written to slot {@code sequence % 2} at checkpoint, never to block 0 directly.
 */
public record BlockImage(long blockNo, byte[] data) {}
