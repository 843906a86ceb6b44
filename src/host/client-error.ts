// The one error class of the host side: every failed call, whatever its cause
// (the plugin's status, a deadline, an abort, the plugin's death), and every
// failed launch() or reattach() reaches the caller as a ClientError carrying
// a status code and a `reason` to switch on.
import { Metadata } from "@grpc/grpc-js";
import { Code, statusName, toCode } from "../protocol/status.js";

/**
 * What failed: `"call"` for an RPC (its `code` says how), otherwise the step
 * of launch() or reattach() that did.
 */
export type ClientErrorReason =
  /** An RPC failed; `code` is its status. */
  | "call"
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

export interface ClientErrorOptions {
  cause?: unknown;
  /** Default "call". */
  reason?: ClientErrorReason;
}

export class ClientError extends Error {
  override name = "ClientError";
  readonly reason: ClientErrorReason;

  constructor(
    /** The full method path, e.g. "/driverplug.driver.v1.DriverService/GetIP"; "" when no call failed. */
    readonly path: string,
    readonly code: Code,
    /** The status message as the plugin (or the host) gave it. */
    readonly details: string,
    readonly metadata: Metadata = new Metadata(),
    options: ClientErrorOptions = {},
  ) {
    super(path === "" ? details : `${path} ${statusName(code)}: ${details}`, { cause: options.cause });
    this.reason = options.reason ?? "call";
  }

  /** The status name, e.g. "NOT_FOUND". */
  get codeName(): string {
    return statusName(this.code);
  }

  /**
   * Anything thrown, as a ClientError: itself if it is one, a gRPC status
   * error (or any error with a numeric `code`) with that code, an abort as
   * CANCELLED, a timeout as DEADLINE_EXCEEDED, anything else UNKNOWN.
   */
  static from(err: unknown, path = ""): ClientError {
    if (err instanceof ClientError) return err;
    const e = typeof err === "object" && err !== null ? (err as Partial<Record<string, unknown>>) : {};
    const message = err instanceof Error ? err.message : typeof e.message === "string" ? e.message : String(err);
    const metadata = e.metadata instanceof Metadata ? e.metadata : new Metadata();
    // Before `code`: a DOMException's numeric code is a DOM one, not gRPC's.
    if (e.name === "AbortError") return new ClientError(path, Code.CANCELLED, message, metadata, { cause: err });
    if (e.name === "TimeoutError")
      return new ClientError(path, Code.DEADLINE_EXCEEDED, message, metadata, { cause: err });
    if (typeof e.code === "number" && !(err instanceof DOMException)) {
      const details = typeof e.details === "string" ? e.details : message;
      return new ClientError(path, toCode(e.code), details, metadata, { cause: err });
    }
    return new ClientError(path, Code.UNKNOWN, message, metadata, { cause: err });
  }
}
