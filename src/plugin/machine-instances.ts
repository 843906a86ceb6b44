// One driver instance per machine for plugins that serve many machines from
// one process (CAPABILITY_MACHINE_INSTANCES). serve() is given either a
// driver (one instance for every call, as go-plugin hosts expect) or a
// factory `(machine) => driver`; with a factory, each call is routed by its
// `driverplug-machine` metadata to that machine's instance, made on first
// use, with its own mutation queue, so a slow Create on one machine never
// holds up another and Kill aborts only its own machine's call. Calls
// without the key go to the default instance (machine "").
import type { Metadata } from "@grpc/grpc-js";
import { Capability, DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { MACHINE_METADATA_KEY, machineKeyProblem } from "../protocol/machine-key.js";
import type { ActiveCall } from "./call-context.js";
import type { CallGate, Release } from "./call-gate.js";
import { invalidArgument, unimplemented } from "./driver-error.js";
import { impliedCapabilities, withDefaults, type Driver, type DriverHandlers, type DriverIdentity } from "./driver.js";
import type { CallContext } from "./handler-types.js";

/** Makes the driver of one machine; called once per machine, on its first call. */
export type DriverFactory = (machine: string) => Driver;

/** What serve() accepts: one driver, or a factory of one per machine. */
export type DriverSource = Driver | DriverFactory;

/** The machine of calls that name none (go-plugin hosts, and hosts of one machine). */
export const DEFAULT_MACHINE = "";

interface Instance {
  handlers: Partial<DriverHandlers>;
  gate: CallGate;
}

type AnyHandler = (request: unknown, ctx: CallContext) => unknown;

export class MachineInstances {
  /** What the service adapter serves: every method the driver has, routed per call. */
  readonly handlers: Partial<DriverHandlers>;
  /** Admission per machine: each instance's own queue. */
  readonly gate: CallGate;
  /** The driver of calls that name no machine (the only one, for a plain driver). */
  readonly defaultDriver: Driver;
  private readonly instances = new Map<string, Instance>();
  private readonly factory: DriverFactory | undefined;

  constructor(
    source: DriverSource,
    private readonly identity: DriverIdentity,
    private readonly newGate: () => CallGate,
  ) {
    if (typeof source !== "function") {
      // One driver: no routing at all, and no capability to advertise.
      this.defaultDriver = source;
      const only = { handlers: withDefaults(source, identity), gate: newGate() };
      this.handlers = only.handlers;
      this.gate = only.gate;
      return;
    }
    this.factory = source;
    const first = source(DEFAULT_MACHINE);
    this.defaultDriver = first;
    const capabilities = identity.capabilities ?? impliedCapabilities(first);
    this.identity = {
      ...identity,
      capabilities: capabilities.includes(Capability.CAPABILITY_MACHINE_INSTANCES)
        ? capabilities
        : [...capabilities, Capability.CAPABILITY_MACHINE_INSTANCES],
    };
    const defaultInstance = this.makeInstance(first);
    this.instances.set(DEFAULT_MACHINE, defaultInstance);
    this.handlers = this.routedHandlers(defaultInstance.handlers);
    this.gate = {
      enter: (method: string, call: ActiveCall): Release | Promise<Release> =>
        this.instanceOf(call.metadata).gate.enter(method, call),
    };
  }

  /** How many machines have an instance (the default one included). */
  get size(): number {
    return this.instances.size;
  }

  /** One handler per method the default instance has, each passing the call to its machine's instance. */
  private routedHandlers(template: Partial<DriverHandlers>): Partial<DriverHandlers> {
    const routed: Record<string, AnyHandler> = {};
    for (const name of Object.keys(DriverServiceService)) {
      if (typeof (template as Record<string, unknown>)[name] !== "function") continue;
      routed[name] = (request, ctx) => {
        const handler = (this.instanceOf(ctx.metadata).handlers as Record<string, AnyHandler | undefined>)[name];
        if (!handler) throw unimplemented(`driver "${this.identity.name}" does not implement ${name}`);
        return handler(request, ctx);
      };
    }
    return routed as Partial<DriverHandlers>;
  }

  private instanceOf(metadata: Metadata): Instance {
    const values = metadata.get(MACHINE_METADATA_KEY);
    if (values.length === 0) return this.instances.get(DEFAULT_MACHINE)!;
    if (values.length > 1)
      throw invalidArgument(`the call names ${values.length} machines in "${MACHINE_METADATA_KEY}"; name exactly one`);
    const machine = String(values[0]);
    let instance = this.instances.get(machine);
    if (instance) return instance;
    const problem = machineKeyProblem(machine);
    if (problem)
      throw invalidArgument(
        `the "${MACHINE_METADATA_KEY}" metadata ${JSON.stringify(machine)} names no machine: ${problem}`,
      );
    instance = this.makeInstance(this.factory!(machine));
    this.instances.set(machine, instance);
    return instance;
  }

  private makeInstance(driver: Driver): Instance {
    return { handlers: withDefaults(driver, this.identity), gate: this.newGate() };
  }
}
