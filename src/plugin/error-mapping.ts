// The one place where whatever a handler threw becomes the status a client
// sees: a DriverError keeps its code, an aborted call reports why it was
// aborted, anything else is INTERNAL with its message (the stack goes only
// to the plugin's log).
import { Metadata, type ServiceError, type status } from "@grpc/grpc-js";
import { Code } from "../protocol/status.js";
import { DriverError } from "./driver-error.js";
import type { Logger } from "./logger.js";

/** `abortReason` is why the call was aborted, if it was: a handler that fails because of it reports that. */
export function toServiceError(
  err: unknown,
  abortReason: DriverError | undefined,
  path: string,
  log: Logger,
): Partial<ServiceError> {
  if (err instanceof DriverError) return statusOf(err.code, err.message);
  if (abortReason) return statusOf(abortReason.code, abortReason.message);
  const message = err instanceof Error ? err.message : String(err);
  log.error("unexpected error in driver method", { method: path, error: err instanceof Error ? err : String(err) });
  return statusOf(Code.INTERNAL, `${path}: unexpected error in the driver: ${message}`);
}

/**
 * Status details travel in an HTTP/2 trailer, percent-encoded: past about
 * 64 KiB the trailer cannot be sent and the call hangs until its deadline,
 * failing with the wrong reason. Details are cut here, for every status.
 */
export const MAX_STATUS_DETAILS_BYTES = 8 * 1024;

export function cutDetails(details: string): string {
  const bytes = Buffer.byteLength(details);
  if (bytes <= MAX_STATUS_DETAILS_BYTES) return details;
  // Cut on a character boundary: decoding drops a partial last character.
  const kept = Buffer.from(details)
    .subarray(0, MAX_STATUS_DETAILS_BYTES)
    .toString("utf8")
    .replace(/\uFFFD$/, "");
  return `${kept}... [${bytes - Buffer.byteLength(kept)} more bytes cut]`;
}

function statusOf(code: Code, details: string): Partial<ServiceError> {
  // The numbers are the same: Code mirrors grpc-js's status.
  return { code: code as number as status, details: cutDetails(details), metadata: new Metadata() };
}
