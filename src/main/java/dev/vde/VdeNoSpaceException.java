package dev.vde;

/** Not enough free blocks or inodes; raised before anything is written. */
public class VdeNoSpaceException extends VdeException {
  private static final long serialVersionUID = 1L;

  private final boolean saysWhatToDo;

  public VdeNoSpaceException(String message) {
    this(message, false);
  }

  /**
   * @param saysWhatToDo whether the message already names the way out for this shortage (more inodes, another
   *     option, a two-step truncate), so that a caller adding general advice (free space, a larger volume) leaves
   *     it out rather than contradict it
   */
  public VdeNoSpaceException(String message, boolean saysWhatToDo) {
    super(message);
    this.saysWhatToDo = saysWhatToDo;
  }

  /** Whether the message already says what to do about this shortage. */
  public boolean saysWhatToDo() {
    return saysWhatToDo;
  }
}
