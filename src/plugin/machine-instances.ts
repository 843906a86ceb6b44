// One driver instance per machine for plugins that serve many machines from
// one process (CAPABILITY_MACHINE_INSTANCES). serve() is given either a
// driver (one instance for every call, as go-plugin hosts expect) or a
// factory `(machine) => driver`; with a factory, each call is routed by its
// `driverplug-machine` metadata to that machine's instance, made on first
// use, with its own mutation queue, so a slow Create on one machine never
// holds up another and Kill aborts only its own machine's call. Calls
// without the key go to the default instance (machine "").
// Instances are bounded: at most maxMachines live at once (past that, the
// least recently used instance that is idle and has no config is freed to
// make room; if none is, the call fails RESOURCE_EXHAUSTED), an instance is
// freed once its machine's Remove succeeded, and one with no config set and
// no call in flight is freed after idleMs. The default instance stays.
// With a factory, GetMachineStates (many machines' states in one call) comes
// with the instances unless the driver answers it itself (machine-states.ts).
import type { Metadata } from "@grpc/grpc-js";
import { Capability, DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { MACHINE_METADATA_KEY, machineKeyProblem } from "../protocol/machine-key.js";
import type { ActiveCall } from "./call-context.js";
import type { CallGate, Release } from "./call-gate.js";
import { Code } from "../protocol/status.js";
import { formatSeconds } from "../protocol/duration-text.js";
import { DriverError, invalidArgument, unimplemented } from "./driver-error.js";
import { createLogger, type Logger } from "./logger.js";
import { machineStatesHandler } from "./machine-states.js";
import { impliedCapabilities, withDefaults, type Driver, type DriverHandlers, type DriverIdentity } from "./driver.js";
import type { CallContext } from "./handler-types.js";

/** Makes the driver of one machine; called once per machine, on its first call. */
export type DriverFactory = (machine: string) => Driver;

/** What serve() accepts: one driver, or a factory of one per machine. */
export type DriverSource = Driver | DriverFactory;

/** The machine of calls that name none (go-plugin hosts, and hosts of one machine). */
export const DEFAULT_MACHINE = "";

/** Machines with a live instance at most, besides the default one. */
export const DEFAULT_MAX_MACHINES = 1000;
/** How long an instance with no config and no call in flight is kept. */
export const DEFAULT_MACHINE_IDLE_MS = 60_000;

interface Instance {
  machine: string;
  handlers: Partial<DriverHandlers>;
  gate: CallGate;
  /** Calls that entered its gate and have not ended. */
  inFlight: number;
  /** A SetConfig or SetConfigFromFlags succeeded: it holds a machine's config. */
  configured: boolean;
  /** Its machine's Remove succeeded: freed once no call is in flight. */
  removed: boolean;
  /** Date.now() when a call last entered or ended. */
  lastUsed: number;
}

export interface MachineInstancesOptions {
  newGate: () => CallGate;
  maxMachines?: number;
  idleMs?: number;
  log?: Logger;
}

type AnyHandler = (request: unknown, ctx: CallContext) => unknown;

/** The calls after whose success an instance holds a machine's config. */
const CONFIGURING = new Set(["setConfig", "setConfigFromFlags"]);

export class MachineInstances {
  /** What the service adapter serves: every method the driver has, routed per call. */
  readonly handlers: Partial<DriverHandlers>;
  /** Admission per machine: each instance's own queue. */
  readonly gate: CallGate;
  /** The driver of calls that name no machine (the only one, for a plain driver). */
  readonly defaultDriver: Driver;
  /** In least recently used order (a Map keeps insertion order; a use re-inserts). */
  private readonly instances = new Map<string, Instance>();
  private readonly factory: DriverFactory | undefined;
  /** Machine "": never freed. Undefined for a plain driver, which has no instances to route to. */
  private readonly defaultInstance: Instance | undefined;
  private readonly newGate: () => CallGate;
  private readonly maxMachines: number;
  private readonly idleMs: number;
  private readonly log: Logger | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    source: DriverSource,
    private readonly identity: DriverIdentity,
    options: MachineInstancesOptions,
  ) {
    this.newGate = options.newGate;
    this.maxMachines = positive("maxMachines", options.maxMachines ?? DEFAULT_MAX_MACHINES);
    this.idleMs = positive("machineIdleMs", options.idleMs ?? DEFAULT_MACHINE_IDLE_MS);
    this.log = options.log;
    if (typeof source !== "function") {
      // One driver: no routing at all, and no capability to advertise.
      this.defaultDriver = source;
      const only = { handlers: withDefaults(source, identity), gate: this.newGate() };
      this.handlers = only.handlers;
      this.gate = only.gate;
      return;
    }
    this.factory = source;
    const first = source(DEFAULT_MACHINE);
    this.defaultDriver = first;
    const capabilities = [...(identity.capabilities ?? impliedCapabilities(first))];
    for (const served of [Capability.CAPABILITY_MACHINE_INSTANCES, Capability.CAPABILITY_MACHINE_STATES]) {
      if (!capabilities.includes(served)) capabilities.push(served);
    }
    this.identity = { ...identity, capabilities };
    this.defaultInstance = this.makeInstance(DEFAULT_MACHINE, first);
    const routed = this.routedHandlers(this.defaultInstance.handlers);
    this.handlers = routed;
    this.gate = {
      enter: (method: string, call: ActiveCall): Release | Promise<Release> =>
        this.instanceOf(call.metadata).gate.enter(method, call),
    };
    // A driver's own GetMachineStates (routed to the default instance, as the call names no machine) wins.
    routed.getMachineStates ??= machineStatesHandler(this, this.log ?? createLogger(identity.name));
  }

  /** How many machines have an instance (the default one included). */
  get size(): number {
    return this.instances.size + (this.defaultInstance ? 1 : 0);
  }

  /** Stops the idle sweep (the plugin is stopping). */
  close(): void {
    clearTimeout(this.sweeper);
    this.sweeper = undefined;
  }

  /** One handler per method the default instance has, each passing the call to its machine's instance. */
  private routedHandlers(template: Partial<DriverHandlers>): Partial<DriverHandlers> {
    const routed: Record<string, AnyHandler> = {};
    for (const name of Object.keys(DriverServiceService)) {
      if (typeof (template as Record<string, unknown>)[name] !== "function") continue;
      const streaming = DriverServiceService[name as keyof typeof DriverServiceService].responseStream;
      routed[name] = (request, ctx) => {
        const instance = this.instanceOf(ctx.metadata);
        const handler = (instance.handlers as Record<string, AnyHandler | undefined>)[name];
        if (!handler) throw unimplemented(`driver "${this.identity.name}" does not implement ${name}`);
        this.began(instance);
        if (streaming) return this.tracked(instance, handler(request, ctx) as AsyncIterable<unknown>);
        let result: Promise<unknown>;
        try {
          result = Promise.resolve(handler(request, ctx));
        } catch (err) {
          this.ended(instance, name, false);
          throw err;
        }
        result.then(
          () => this.ended(instance, name, true),
          () => this.ended(instance, name, false),
        );
        return result;
      };
    }
    return routed as Partial<DriverHandlers>;
  }

  /** A streaming handler's messages; the call ends with the iteration (or its abandonment). */
  private async *tracked(instance: Instance, messages: AsyncIterable<unknown>): AsyncGenerator<unknown> {
    let ok = false;
    try {
      yield* messages;
      ok = true;
    } finally {
      this.ended(instance, "", ok);
    }
  }

  private began(instance: Instance): void {
    instance.inFlight++;
    instance.lastUsed = Date.now();
  }

  private ended(instance: Instance, method: string, ok: boolean): void {
    instance.inFlight--;
    instance.lastUsed = Date.now();
    if (ok && CONFIGURING.has(method)) {
      instance.configured = true;
      instance.removed = false;
    }
    if (ok && method === "remove") instance.removed = true;
    if (instance === this.defaultInstance) return;
    if (instance.removed && instance.inFlight === 0) this.free(instance, "its machine was removed");
    else this.armSweep();
  }

  private free(instance: Instance, why: string): void {
    if (this.instances.get(instance.machine) !== instance) return;
    this.instances.delete(instance.machine);
    this.log?.debug("machine instance freed", { machine: instance.machine, why, machines: this.size });
  }

  /** Idle and holding no machine: nothing is lost by making it again later. */
  private disposable(instance: Instance, now: number, idleMs: number): boolean {
    return !instance.configured && instance.inFlight === 0 && now - instance.lastUsed >= idleMs;
  }

  /** One unref'd timer, armed while a non-default instance exists. */
  private armSweep(): void {
    if (this.sweeper || this.instances.size === 0) return;
    this.sweeper = setTimeout(() => {
      this.sweeper = undefined;
      const now = Date.now();
      for (const instance of [...this.instances.values()]) {
        if (this.disposable(instance, now, this.idleMs))
          this.free(instance, `idle for ${formatSeconds(this.idleMs)} with no config`);
      }
      this.armSweep();
    }, this.idleMs).unref();
  }

  private instanceOf(metadata: Metadata): Instance {
    const values = metadata.get(MACHINE_METADATA_KEY);
    if (values.length === 0) return this.defaultInstance!;
    if (values.length > 1)
      throw invalidArgument(`the call names ${values.length} machines in "${MACHINE_METADATA_KEY}"; name exactly one`);
    const machine = String(values[0]);
    if (machine === DEFAULT_MACHINE) return this.defaultInstance!;
    let instance = this.instances.get(machine);
    if (instance) {
      // Most recently used last, so room is made from the front.
      this.instances.delete(machine);
      this.instances.set(machine, instance);
      instance.lastUsed = Date.now();
      return instance;
    }
    const problem = machineKeyProblem(machine);
    if (problem)
      throw invalidArgument(
        `the "${MACHINE_METADATA_KEY}" metadata ${JSON.stringify(machine)} names no machine: ${problem}`,
      );
    if (this.instances.size >= this.maxMachines) this.makeRoom(machine);
    instance = this.makeInstance(machine, this.factory!(machine));
    this.instances.set(machine, instance);
    this.log?.debug("machine instance made", { machine, machines: this.size });
    this.armSweep();
    return instance;
  }

  /** Frees the least recently used instance with no config and no call in flight, or refuses the call. */
  private makeRoom(machine: string): void {
    const now = Date.now();
    for (const instance of this.instances.values()) {
      if (this.disposable(instance, now, 0)) return this.free(instance, "room for another machine");
    }
    throw new DriverError(
      Code.RESOURCE_EXHAUSTED,
      `cannot serve machine ${JSON.stringify(machine)}: this plugin already serves ${this.maxMachines} machines ` +
        `(its maxMachines), each with a config or a call in flight; remove machines it no longer needs, or run another plugin process`,
    );
  }

  private makeInstance(machine: string, driver: Driver): Instance {
    return {
      machine,
      handlers: withDefaults(driver, this.identity),
      gate: this.newGate(),
      inFlight: 0,
      configured: false,
      removed: false,
      lastUsed: Date.now(),
    };
  }
}

function positive(option: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0)
    throw new RangeError(`serve()'s ${option} must be a positive whole number, got ${value}`);
  return value;
}
