// The rules of every DriverService RPC, as the .proto states them in its
// (driverplug.driver.v1.rpc) option and the standard idempotency_level:
// whether it mutates (queued), pre-empts (Kill), runs long (lifecycle
// deadline) or open-ended (no deadline), is required, and which capability it
// implies. The plugin's queue, the host's deadlines, GetInfo's capabilities,
// the conformance kit and the docs read this one table; `make generate`
// writes its source from the descriptor.
import { Capability, DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { DriverServiceRpcs } from "../../generated/driverplug/driver/v1/driver_rpc.js";

/** The RPC's name in the .proto, e.g. "GetSSHInfo". */
export type DriverRpcName = keyof typeof DriverServiceRpcs;

/** The RPC's name in the generated service definition and a driver's handlers, e.g. "getSshInfo". */
export type DriverMethodName = keyof typeof DriverServiceService;

/** The method (handler) name of an RPC, found through the path both generators agree on. */
export type MethodOfRpc<N extends DriverRpcName> = {
  [K in DriverMethodName]: (typeof DriverServiceService)[K]["path"] extends (typeof DriverServiceRpcs)[N]["path"]
    ? K
    : never;
}[DriverMethodName];

/** RPCs whose option says every driver implements them. */
export type RequiredRpcName = {
  [N in DriverRpcName]: (typeof DriverServiceRpcs)[N]["required"] extends true ? N : never;
}[DriverRpcName];

/** The handler names of the required RPCs: a Driver must have these. */
export type RequiredMethodName = MethodOfRpc<RequiredRpcName>;

/** protobuf's MethodOptions.IdempotencyLevel. */
export type Idempotency = "IDEMPOTENCY_UNKNOWN" | "NO_SIDE_EFFECTS" | "IDEMPOTENT";

export interface DriverRpc {
  /** As in the .proto: "GetSSHInfo". */
  readonly name: DriverRpcName;
  /** As in the generated definition and the driver's handlers: "getSshInfo". */
  readonly method: DriverMethodName;
  /** The gRPC path: "/driverplug.driver.v1.DriverService/GetSSHInfo". */
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly idempotency: Idempotency;
  /** Serialized with the plugin's other mutating calls (unless it pre-empts). */
  readonly mutating: boolean;
  /** Never queued: aborts the mutating call in flight and runs at once. */
  readonly preempts: boolean;
  /** Gets the host's lifecycle deadline by default. */
  readonly longRunning: boolean;
  /** Runs until the host cancels: no default deadline. */
  readonly openEnded: boolean;
  /** Every driver implements it. */
  readonly required: boolean;
  /** The capability a driver advertises by implementing it; undefined when none. */
  readonly capability: Capability | undefined;
}

function buildTable(): readonly DriverRpc[] {
  const byPath = new Map<string, DriverMethodName>();
  for (const method of Object.keys(DriverServiceService) as DriverMethodName[]) {
    byPath.set(DriverServiceService[method].path, method);
  }
  const rows: DriverRpc[] = [];
  for (const name of Object.keys(DriverServiceRpcs) as DriverRpcName[]) {
    const row = DriverServiceRpcs[name];
    const method = byPath.get(row.path);
    // Both tables come from one descriptor in one `make generate`, so a miss
    // means generated/ is stale.
    if (!method) throw new Error(`generated/ is stale: ${row.path} has RPC options but no service method`);
    if (!row.classified) {
      throw new Error(`${row.path} has no (driverplug.driver.v1.rpc) option: classify it in driver.proto`);
    }
    rows.push(
      Object.freeze({
        name,
        method,
        path: row.path,
        requestStream: row.requestStream,
        responseStream: row.responseStream,
        idempotency: row.idempotency,
        mutating: row.mutating,
        preempts: row.preempts,
        longRunning: row.longRunning,
        openEnded: row.openEnded,
        required: row.required,
        capability: row.capability === Capability.CAPABILITY_UNSPECIFIED ? undefined : row.capability,
      }),
    );
  }
  if (rows.length !== byPath.size) throw new Error("generated/ is stale: a DriverService method has no RPC options");
  return Object.freeze(rows);
}

/** Every DriverService RPC with its options, in the .proto's order. */
export const DRIVER_RPCS: readonly DriverRpc[] = buildTable();

const BY_KEY = new Map<string, DriverRpc>();
for (const rpc of DRIVER_RPCS) {
  BY_KEY.set(rpc.method, rpc);
  BY_KEY.set(rpc.name, rpc);
  BY_KEY.set(rpc.path, rpc);
}

/** The options of one RPC, by handler name ("getSshInfo"). */
export function driverRpc(method: DriverMethodName): DriverRpc {
  return BY_KEY.get(method)!;
}

/** The options of an RPC by handler name, .proto name or gRPC path; undefined for anything else. */
export function findDriverRpc(key: string): DriverRpc | undefined {
  return BY_KEY.get(key);
}
