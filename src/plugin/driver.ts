// What a driver author implements: the generated DriverService as async
// methods. The RPCs the .proto marks `required` must be there; the others may
// be left out (callers then get UNIMPLEMENTED or the documented default), and
// GetInfo and Probe have defaults built from serve()'s options.
import { Capability, DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { DRIVER_RPCS, type RequiredMethodName } from "../protocol/rpc-options.js";
import { PROTOCOL_VERSIONS } from "../protocol/versions.js";
import type { ServiceHandlers } from "./handler-types.js";

export type DriverHandlers = ServiceHandlers<DriverServiceService>;

/** The RPCs whose option in the .proto says `required: true`. */
type RequiredMethod = RequiredMethodName;

export type Driver = Pick<DriverHandlers, RequiredMethod> & Partial<Omit<DriverHandlers, RequiredMethod>>;

/** The capabilities a driver has: those its implemented optional RPCs imply (their `capability` option). */
export function impliedCapabilities(driver: Driver): Capability[] {
  const out: Capability[] = [];
  for (const rpc of DRIVER_RPCS) {
    if (rpc.capability !== undefined && typeof driver[rpc.method] === "function") out.push(rpc.capability);
  }
  return out;
}

export interface DriverIdentity {
  name: string;
  version: string;
  capabilities?: readonly Capability[];
}

/**
 * The driver's methods (own or inherited: drivers may be classes) bound to
 * it, plus default GetInfo and Probe answers where it has none.
 */
export function withDefaults(driver: Driver, identity: DriverIdentity): Partial<DriverHandlers> {
  const capabilities = [...(identity.capabilities ?? impliedCapabilities(driver))];
  const merged: Record<string, unknown> = {};
  for (const key of Object.keys(DriverServiceService)) {
    const own: unknown = (driver as Record<string, unknown>)[key];
    if (typeof own === "function") merged[key] = own.bind(driver);
  }
  const handlers = merged as Partial<DriverHandlers>;
  handlers.getInfo ??= async () => ({
    driverName: identity.name,
    driverVersion: identity.version,
    apiVersions: [...PROTOCOL_VERSIONS],
    capabilities,
  });
  handlers.probe ??= async () => ({ ready: true, message: "" });
  return handlers;
}
