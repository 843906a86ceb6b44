// The optional RPCs the kit probes, read from the proto's RPC options (each
// capability's RPC), and a generic way to call any DriverService RPC with an
// empty request: any answer but UNIMPLEMENTED proves the RPC is there
// (NOT_FOUND before Create, or INVALID_ARGUMENT for an empty config, is fine).
import { Capability } from "../../generated/driverplug/driver/v1/driver.js";
import type { ClientError } from "../host/client-error.js";
import { Code } from "../protocol/status.js";
import { DRIVER_RPCS, findDriverRpc, type DriverRpc } from "../protocol/rpc-options.js";
import type { DriverClient } from "./kit-plugin.js";

/** The RPCs that implement a capability, one row per capability's RPC. */
export const CAPABILITY_RPCS: readonly (DriverRpc & { capability: Capability })[] = DRIVER_RPCS.filter(
  (r): r is DriverRpc & { capability: Capability } => r.capability !== undefined,
);

/** Calls `rpc` with an empty request; a stream is read up to its first message. */
export async function callEmpty(client: DriverClient, rpc: DriverRpc): Promise<unknown> {
  const call = (client as unknown as Record<string, (request: object) => unknown>)[rpc.method]!;
  if (!rpc.responseStream) return call({});
  for await (const message of call({}) as AsyncIterable<unknown>) return message;
  return undefined;
}

/**
 * UNIMPLEMENTED from an RPC the proto marks neither required nor part of a
 * capability (PreCreateCheck, GetIP...): a driver may leave those out, so the
 * kit accepts that answer where it expected another.
 */
export function optionalLeftOut(err: ClientError): boolean {
  if (err.code !== Code.UNIMPLEMENTED) return false;
  const rpc = findDriverRpc(err.path);
  return rpc !== undefined && !rpc.required && rpc.capability === undefined;
}

export function capabilityName(c: Capability): string {
  return (Capability[c] as string | undefined) ?? `capability ${c}`;
}
