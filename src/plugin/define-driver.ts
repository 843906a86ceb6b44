// Typing helpers for driver authors. An object literal typed `Driver` gets
// its methods' parameter types from the context, but a class that says
// `implements Driver` does not (TypeScript never types a method's parameters
// from an interface it implements): DriverRequest<"setConfig"> names a
// method's request type, and CallContext its context, so a class can write
// them. defineDriver() is the object-literal form, which also keeps the
// driver's own extra members in its type.
import type { DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import type { RequestOf, ResponseOf } from "../protocol/service-types.js";
import type { Driver } from "./driver.js";

/** A DriverService method's name as a driver spells it, e.g. "setConfig", "getSshInfo". */
export type DriverMethodName = keyof DriverServiceService;

/** The request a driver method receives: `DriverRequest<"setConfig">` is SetConfigRequest. */
export type DriverRequest<M extends DriverMethodName> = RequestOf<DriverServiceService[M]>;

/** The response message of a method (a handler may answer with any part of it). */
export type DriverResponse<M extends DriverMethodName> = ResponseOf<DriverServiceService[M]>;

/**
 * Returns `driver` as it is, typed: every DriverService method's parameters
 * come from the contract; members of its own stay in the returned type.
 *
 * ```ts
 * const driver = defineDriver({
 *   async setConfig({ configJson }) { ... },   // configJson: Uint8Array
 *   async *create(_request, ctx) { ... },      // ctx: CallContext
 *   ...
 * });
 * ```
 */
export function defineDriver<D extends Driver>(driver: D): D {
  return driver;
}
