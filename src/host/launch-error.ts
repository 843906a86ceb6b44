// The error launch() and reattach() throw: one class, with a `reason` a
// caller can switch on and a message that says what happened and what to do.

export type LaunchFailure =
  /** The name is not a safe plugin name, or no executable was found. */
  | "not-found"
  /**
   * A plugin executable others could have written (owner, mode, directory),
   * or one whose SHA-256 differs from the pinned one: not run.
   */
  | "untrusted-executable"
  /** The executable could not be started (spawn error). */
  | "spawn-failed"
  /** The process exited (or closed its stdout) before printing a handshake. */
  | "exited"
  /** The first stdout line is not a handshake. */
  | "bad-handshake"
  /** The handshake names an app protocol version the host does not speak. */
  | "version-mismatch"
  /** No handshake within the start timeout; the process was killed. */
  | "timeout"
  /** The handshake's address fails the host's checks (place, type, owner, mode). */
  | "untrusted-address"
  /** The socket directory base is unusable. */
  | "socket-dir"
  /** A reattach record is malformed or its process is gone. */
  | "bad-record";

export class LaunchError extends Error {
  override name = "LaunchError";
  constructor(
    readonly reason: LaunchFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
