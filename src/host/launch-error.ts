// How launch() and reattach() fail: a LaunchError, which is a ClientError
// whose `reason` names the step that failed and whose message says what
// happened and what to do. Code that catches ClientError for calls and
// launches alike keeps working; `instanceof LaunchError` tells the two apart.
import { Metadata } from "@grpc/grpc-js";
import { Code } from "../protocol/status.js";
import { ClientError, type ClientErrorReason } from "./client-error.js";

export type LaunchFailure = Exclude<ClientErrorReason, "call">;

/** The status code each failure carries, for callers that handle calls and launches alike. */
const CODE_OF: Record<LaunchFailure, Code> = {
  "not-found": Code.NOT_FOUND,
  "untrusted-executable": Code.PERMISSION_DENIED,
  "spawn-failed": Code.UNAVAILABLE,
  exited: Code.UNAVAILABLE,
  "bad-handshake": Code.FAILED_PRECONDITION,
  "version-mismatch": Code.FAILED_PRECONDITION,
  timeout: Code.DEADLINE_EXCEEDED,
  "untrusted-address": Code.PERMISSION_DENIED,
  "socket-dir": Code.FAILED_PRECONDITION,
  "bad-record": Code.INVALID_ARGUMENT,
};

export class LaunchError extends ClientError {
  override name = "LaunchError";
  declare readonly reason: LaunchFailure;
  constructor(reason: LaunchFailure, message: string, options?: { cause?: unknown }) {
    super("", CODE_OF[reason], message, new Metadata(), { cause: options?.cause, reason });
  }
}
