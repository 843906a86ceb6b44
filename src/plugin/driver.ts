// What a driver author implements: the generated DriverService as async
// methods. The lifecycle core is required; optional capabilities may be left
// out (callers then get UNIMPLEMENTED), and GetInfo and Probe have defaults
// built from serve()'s options.
import { Capability, DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { PROTOCOL_VERSIONS } from "../protocol/versions.js";
import type { ServiceHandlers } from "./handler-types.js";

export type DriverHandlers = ServiceHandlers<DriverServiceService>;

type RequiredMethod = "getConfig" | "setConfig" | "create" | "start" | "stop" | "kill" | "remove" | "getState";

export type Driver = Pick<DriverHandlers, RequiredMethod> & Partial<Omit<DriverHandlers, RequiredMethod>>;

/** Serialized by the framework (DESIGN.md: a driver need not be re-entrant). */
export const MUTATING_METHODS: ReadonlySet<string> = new Set([
  "setConfigFromFlags",
  "setConfig",
  "updateConfig",
  "create",
  "start",
  "stop",
  "restart",
  "remove",
]);

/** Never queued: aborts the mutating call in flight and runs at once. */
export const PREEMPTING_METHODS: ReadonlySet<string> = new Set(["kill"]);

const CAPABILITY_OF: ReadonlyArray<[keyof DriverHandlers, Capability]> = [
  ["watchState", Capability.CAPABILITY_WATCH_STATE],
  ["updateConfig", Capability.CAPABILITY_UPDATE_CONFIG],
  ["restart", Capability.CAPABILITY_RESTART],
  ["getSshInfo", Capability.CAPABILITY_SSH],
  ["getUrl", Capability.CAPABILITY_URL],
  ["getSharedDirs", Capability.CAPABILITY_SHARED_DIRS],
  ["getBundleName", Capability.CAPABILITY_BUNDLE],
];

/** The capabilities a driver has, read from the optional methods it implements. */
export function impliedCapabilities(driver: Driver): Capability[] {
  return CAPABILITY_OF.filter(([method]) => typeof driver[method] === "function").map(([, capability]) => capability);
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
