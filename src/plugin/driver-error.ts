// The one error class a driver throws to choose the gRPC status a host sees,
// plus a helper per common code. Anything else a driver throws becomes INTERNAL.
import { status } from "@grpc/grpc-js";
import { statusName } from "../protocol/status.js";

export class DriverError extends Error {
  override name = "DriverError";
  constructor(
    readonly code: status,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  override toString(): string {
    return `${statusName(this.code)}: ${this.message}`;
  }
}

export const invalidArgument = (message: string) => new DriverError(status.INVALID_ARGUMENT, message);
export const notFound = (message: string) => new DriverError(status.NOT_FOUND, message);
export const alreadyExists = (message: string) => new DriverError(status.ALREADY_EXISTS, message);
export const failedPrecondition = (message: string) => new DriverError(status.FAILED_PRECONDITION, message);
export const unimplemented = (message: string) => new DriverError(status.UNIMPLEMENTED, message);
export const unavailable = (message: string) => new DriverError(status.UNAVAILABLE, message);
export const cancelled = (message: string) => new DriverError(status.CANCELLED, message);
export const deadlineExceeded = (message: string) => new DriverError(status.DEADLINE_EXCEEDED, message);
export const internal = (message: string) => new DriverError(status.INTERNAL, message);
