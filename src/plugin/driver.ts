// What a driver author implements: the generated DriverService as async
// methods. The RPCs the .proto marks `required` must be there; the others may
// be left out: callers then get UNIMPLEMENTED, except for the ones with a
// default here (GetInfo and Probe from serve()'s options; no create flags).
import { Capability, DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { DRIVER_RPCS, type RequiredMethodName } from "../protocol/rpc-options.js";
import { PROTOCOL_VERSIONS } from "../protocol/versions.js";
import { invalidArgument } from "./driver-error.js";
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
  // A driver without create flags has none, rather than failing the host's
  // `create` with UNIMPLEMENTED; and no flag value can reach a driver that
  // cannot apply it.
  handlers.getCreateFlags ??= async () => ({ flags: [] });
  const hasFlags = typeof driver.getCreateFlags === "function";
  handlers.setConfigFromFlags ??= async ({ values }) => {
    const names = Object.keys(values).sort();
    if (names.length === 0) return {};
    const list = names.map((n) => JSON.stringify(n)).join(", ");
    throw invalidArgument(
      hasFlags
        ? `${identity.name} cannot apply flag ${list}: it lists create flags but implements no SetConfigFromFlags`
        : `unknown flag ${list}: ${identity.name} takes no create flags`,
    );
  };
  return handlers;
}
