package dev.vde.cli;

import dev.vde.fs.VirtualDisk;
import dev.vde.fs.VolumeInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code info} and the demo open images read-only so that looking never writes. The engine then reports the
 * volume as read-only "on request", which is our doing, not a property of the volume; and that reason hides the
 * host file's own permissions. So the on-request reason is replaced by what a writable open would meet as far
 * as we can tell: a host file we may not write, a bitmap that marks metadata free, or nothing.
 */
final class ReadOnlyView {
  /** The reason the engine gives for a read-only open the caller asked for. */
  static final String REQUESTED_REASON = "opened read-only on request";
  static final String HOST_FILE_READ_ONLY = "host file is not writable";

  private ReadOnlyView() {}

  /** {@code disk.info()}, with the reason a writable open would meet in place of the on-request one. */
  static VolumeInfo volumeInfo(VirtualDisk disk, Path image) throws IOException {
    VolumeInfo info = disk.info();
    if (!REQUESTED_REASON.equals(info.readOnlyReason())) {
      return info;
    }
    String reason = Files.isWritable(image) ? null : HOST_FILE_READ_ONLY;
    if (reason == null) {
      // A writable open would open read-only too, as Volume.open decides, after the host file's own permissions.
      reason = disk.volume().metadataMarkedFree();
    }
    if (!disk.volume().unreadableBitmapBlocks().isEmpty()) {
      reason = "the allocation bitmap is damaged, so a writable open refuses the volume (see 'vde fsck')";
    }
    return new VolumeInfo(info.path(), info.formatMajor(), info.formatMinor(), info.blockSize(), info.totalBlocks(),
        info.freeBlocks(), info.inodeSize(), info.inodeCount(), info.inodesUsed(), info.modules(), info.regions(),
        info.uuid(), info.label(), info.created(), info.modified(), info.sequence(), info.paddingBytes(), reason,
        info.warnings(), info.migration());
  }
}
