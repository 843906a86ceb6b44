// Calls to optional driver capabilities: UNIMPLEMENTED means "this driver has
// no such step", which a host skips or works around, never retries.
import { Code } from "../protocol/status.js";
import { ClientError } from "../host/client-error.js";

/** The call's result, or `unimplemented` when the driver lacks the capability. */
export async function optionalCall<T>(call: Promise<T>): Promise<T | typeof unimplemented> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof ClientError && err.code === Code.UNIMPLEMENTED) return unimplemented;
    throw err;
  }
}

export const unimplemented: unique symbol = Symbol("unimplemented");
