// The one error class a driver throws to choose the status a host sees, plus
// a helper per common code. Anything else a driver throws becomes INTERNAL.
import { Code, statusName } from "../protocol/status.js";

export class DriverError extends Error {
  override name = "DriverError";
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  override toString(): string {
    return `${statusName(this.code)}: ${this.message}`;
  }
}

type Helper = (message: string, options?: { cause?: unknown }) => DriverError;
const helper =
  (code: Code): Helper =>
  (message, options) =>
    new DriverError(code, message, options);

export const invalidArgument = helper(Code.INVALID_ARGUMENT);
export const notFound = helper(Code.NOT_FOUND);
export const alreadyExists = helper(Code.ALREADY_EXISTS);
export const failedPrecondition = helper(Code.FAILED_PRECONDITION);
export const unimplemented = helper(Code.UNIMPLEMENTED);
export const unavailable = helper(Code.UNAVAILABLE);
export const cancelled = helper(Code.CANCELLED);
export const deadlineExceeded = helper(Code.DEADLINE_EXCEEDED);
export const internal = helper(Code.INTERNAL);
