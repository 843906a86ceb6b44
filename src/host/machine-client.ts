// A typed client whose every call names one machine, for plugins that serve
// many machines from one process (CAPABILITY_MACHINE_INSTANCES): the calls
// carry the `driverplug-machine` metadata key, by which the plugin routes
// them to that machine's driver instance. A plugin without the capability
// ignores the key, so a host may send it either way.
import { Metadata } from "@grpc/grpc-js";
import { MACHINE_METADATA_KEY, machineKeyProblem } from "../protocol/machine-key.js";
import type { ServiceDefinitionShape } from "../protocol/service-types.js";
import type { CallOptions } from "./call-options.js";
import type { TypedClient } from "./typed-client.js";

type AnyMethod = (request: unknown, options?: CallOptions) => unknown;

/** `client` with `machine` named in every call's metadata (on top of the caller's own metadata). */
export function machineClient<S extends ServiceDefinitionShape>(
  client: TypedClient<S>,
  machine: string,
): TypedClient<S> {
  const problem = machineKeyProblem(machine);
  if (problem) throw new RangeError(`cannot name machine ${JSON.stringify(machine)} in a call: ${problem}`);
  const out: Record<string, AnyMethod> = {};
  for (const [name, method] of Object.entries(client as Record<string, AnyMethod>)) {
    out[name] = (request, options = {}) => method(request, { ...options, metadata: named(options.metadata, machine) });
  }
  return Object.freeze(out) as TypedClient<S>;
}

function named(metadata: Metadata | undefined, machine: string): Metadata {
  const out = metadata ? metadata.clone() : new Metadata();
  out.set(MACHINE_METADATA_KEY, machine);
  return out;
}
