// Catches a driver method that was meant to be an RPC but is named otherwise
// (`getIP` for `getIp`, `getSSHInfo` for `getSshInfo`, libmachine's
// `getSSHHostname`): on a class such a method compiles, and without this check
// the host would silently get UNIMPLEMENTED. Helpers with names far from every
// RPC are the driver's own business and are left alone.
import type { ServiceDefinitionShape } from "../protocol/service-types.js";

/** libmachine's method names (docker-machine drivers being ported) and the RPC that replaces each. */
const LIBMACHINE_NAMES: Readonly<Record<string, string>> = {
  drivername: "getInfo",
  getversion: "getInfo",
  driverversion: "getInfo",
  heartbeat: "probe",
  getconfigraw: "getConfig",
  setconfigraw: "setConfig",
  updateconfigraw: "updateConfig",
  getsshhostname: "getSshInfo",
  getsshport: "getSshInfo",
  getsshusername: "getSshInfo",
  getsshkeypath: "getSshInfo",
};

/** Function-valued properties, own and inherited (drivers may be classes), except Object's. */
function methodNames(driver: object): string[] {
  const names = new Set<string>();
  for (
    let o: object | null = driver;
    o !== null && o !== Object.prototype;
    o = Object.getPrototypeOf(o) as object | null
  ) {
    for (const key of Object.getOwnPropertyNames(o)) {
      if (key === "constructor") continue;
      const descriptor = Object.getOwnPropertyDescriptor(o, key);
      // Getters are not called: they may have side effects.
      if (descriptor && "value" in descriptor && typeof descriptor.value === "function") names.add(key);
    }
  }
  return [...names];
}

const normalize = (name: string) => name.toLowerCase().replace(/_/g, "");

/** Levenshtein distance, stopping early past `max`. */
function distance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}

/** The RPC a method name was probably meant to be, or undefined when it is not close to one. */
export function intendedRpc(name: string, rpcs: readonly string[]): string | undefined {
  const n = normalize(name);
  const exact = rpcs.find((rpc) => normalize(rpc) === n);
  if (exact) return exact;
  if (Object.hasOwn(LIBMACHINE_NAMES, n)) return LIBMACHINE_NAMES[n];
  // One typo in a long name; short names (stop, kill) are too close to ordinary words.
  if (n.length < 6) return undefined;
  return rpcs.find((rpc) => distance(n, normalize(rpc), 1) <= 1);
}

/**
 * Throws when the driver has methods that match no RPC of `definition` but
 * look like one, with the name each was probably meant to have.
 */
export function checkDriverMethods(driver: object, definition: ServiceDefinitionShape, implementer: string): void {
  const rpcs = Object.keys(definition);
  const problems: string[] = [];
  for (const name of methodNames(driver)) {
    if (rpcs.includes(name)) continue;
    const meant = intendedRpc(name, rpcs);
    if (meant !== undefined) problems.push(`${name}() matches no DriverService RPC: did you mean ${meant}?`);
  }
  if (problems.length > 0) {
    throw new Error(
      `${implementer} has ${problems.length === 1 ? "a method" : "methods"} the host could never call (it would get UNIMPLEMENTED): ` +
        `${problems.join("; ")}. Driver methods are named as in the generated DriverService definition (${rpcs.join(", ")})`,
    );
  }
}
