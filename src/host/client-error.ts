// The one error class of the host's typed client: every failed call, whatever
// its cause (the plugin's status, a deadline, an abort, the plugin's death),
// reaches the caller as a ClientError carrying the gRPC status code.
import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { statusName } from "../protocol/status.js";

export class ClientError extends Error {
  override name = "ClientError";
  constructor(
    /** The full method path, e.g. "/driverplug.driver.v1.DriverService/GetIP". */
    readonly path: string,
    /** The gRPC status code (see `status` in @grpc/grpc-js). */
    readonly code: number,
    /** The status message as the plugin (or the host) gave it. */
    readonly details: string,
    readonly metadata: Metadata = new Metadata(),
    options?: { cause?: unknown },
  ) {
    super(`${path} ${statusName(code)}: ${details}`, options);
  }

  /** The status name, e.g. "NOT_FOUND". */
  get codeName(): string {
    return statusName(this.code);
  }
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === "number";
}

/** Maps whatever grpc-js reported for a call into a ClientError. */
export function toClientError(path: string, err: unknown): ClientError {
  if (err instanceof ClientError) return err;
  if (isServiceError(err)) {
    return new ClientError(path, err.code, err.details ?? err.message, err.metadata ?? new Metadata(), { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ClientError(path, status.UNKNOWN, message, new Metadata(), { cause: err });
}
