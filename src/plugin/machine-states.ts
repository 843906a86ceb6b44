// GetMachineStates for every driver served with a factory (one instance per
// machine): each entry is answered as the host's own SetConfig, GetState and
// (when RUNNING) GetIP naming that machine would be, through the same routing,
// mutation queue and in-flight tracking as those calls, so an instance that
// holds a config is never freed under it and Kill of a machine pre-empts its
// entry like any call. Entries fail alone; a bounded number run at once; an
// entry still unanswered shortly before the call's deadline is answered
// DEADLINE_EXCEEDED, so the host gets every other machine's state in time.
// The entries' calls do not pass through the server middleware: the
// middleware sees the one GetMachineStates call the host made.
import { EventEmitter } from "node:events";
import { Metadata } from "@grpc/grpc-js";
import {
  State,
  type GetMachineStatesRequest,
  type MachineStateEntry,
} from "../../generated/driverplug/driver/v1/driver.js";
import { MACHINE_METADATA_KEY, machineKeyProblem } from "../protocol/machine-key.js";
import { MAX_MACHINE_STATE_CONFIG_BYTES, MAX_MACHINE_STATES_PER_CALL } from "../protocol/machine-states.js";
import type { PartialMessage } from "../protocol/partial-message.js";
import { Code } from "../protocol/status.js";
import { ActiveCall } from "./call-context.js";
import type { CallGate, Release } from "./call-gate.js";
import { deadlineExceeded, DriverError, invalidArgument } from "./driver-error.js";
import type { DriverHandlers } from "./driver.js";
import { toServiceError } from "./error-mapping.js";
import type { CallContext } from "./handler-types.js";
import type { Logger } from "./logger.js";

/** Entries answered at once: enough to hide a driver's I/O, few enough not to flood it. */
export const MACHINE_STATES_CONCURRENCY = 16;

/** What the generic implementation needs of the instances: their routed handlers and gate. */
export interface RoutedInstances {
  readonly handlers: Partial<DriverHandlers>;
  readonly gate: CallGate;
}

type AnyHandler = (request: unknown, ctx: CallContext) => Promise<unknown>;
type Entry = PartialMessage<MachineStateEntry>;

/**
 * The call an entry's SetConfig, GetState or GetIP runs as: the host's call's
 * metadata with the entry's machine key, and its deadline. ActiveCall reads
 * nothing else of a grpc-js call.
 */
class EntryCall extends EventEmitter {
  cancelled = false;
  constructor(
    readonly metadata: Metadata,
    private readonly deadline: Date | undefined,
  ) {
    super();
  }
  getDeadline(): Date | number {
    return this.deadline ?? Infinity;
  }
}

/** The GetMachineStates handler over `instances`. */
export function machineStatesHandler(
  instances: RoutedInstances,
  log: Logger,
): (request: GetMachineStatesRequest, ctx: CallContext) => Promise<{ machines: Entry[] }> {
  return async (request, ctx) => {
    const asked = request.machines;
    if (asked.length > MAX_MACHINE_STATES_PER_CALL)
      throw invalidArgument(
        `GetMachineStates names ${asked.length} machines; at most ${MAX_MACHINE_STATES_PER_CALL} per call: split the list into several calls`,
      );
    const answers: (Entry | undefined)[] = new Array(asked.length);
    const seen = new Set<string>();
    const todo: number[] = [];
    for (const [i, entry] of asked.entries()) {
      const refusal = entryProblem(entry.machine, entry.configJson.length, seen);
      if (refusal) answers[i] = failed(entry.machine, Code.INVALID_ARGUMENT, refusal);
      else todo.push(i);
      seen.add(entry.machine);
    }
    const batch = new Batch(instances, ctx, log);
    try {
      const next = () => todo.shift();
      const worker = async () => {
        for (let i = next(); i !== undefined; i = next()) {
          const { machine, configJson } = asked[i]!;
          answers[i] = await batch.answer(machine, Buffer.from(configJson));
        }
      };
      await Promise.all(Array.from({ length: Math.min(MACHINE_STATES_CONCURRENCY, todo.length) }, worker));
    } finally {
      batch.close();
    }
    // The host's own cancel or deadline: grpc-js has ended the call; nothing is answered.
    if (ctx.signal.aborted) throw ctx.signal.reason;
    return { machines: answers.map((a, i) => a ?? failed(asked[i]!.machine, Code.INTERNAL, "not answered")) };
  };
}

function entryProblem(machine: string, configBytes: number, seen: ReadonlySet<string>): string | undefined {
  const problem = machineKeyProblem(machine);
  if (problem) return `${JSON.stringify(machine)} names no machine: ${problem}`;
  if (seen.has(machine)) return `machine ${JSON.stringify(machine)} is named more than once in this call`;
  if (configBytes > MAX_MACHINE_STATE_CONFIG_BYTES)
    return `the config of machine ${JSON.stringify(machine)} is ${configBytes} bytes, over the ${MAX_MACHINE_STATE_CONFIG_BYTES}-byte limit of one entry`;
  return undefined;
}

function failed(machine: string, code: Code, message: string): Entry {
  return { machine, state: State.STATE_NONE_UNSPECIFIED, ip: "", error: { code, message } };
}

/** One GetMachineStates call's entries in flight, and when they must stop. */
class Batch {
  /** Set once no entry may start or go on: why they are answered so. */
  private stopped: DriverError | undefined;
  private readonly running = new Set<ActiveCall>();
  private timer: NodeJS.Timeout | undefined;
  private readonly onAbort: () => void;
  private readonly deadline: Date | undefined;

  constructor(
    private readonly instances: RoutedInstances,
    private readonly ctx: CallContext,
    private readonly log: Logger,
  ) {
    this.deadline = ctx.deadline;
    this.onAbort = () => this.stop(ctx.signal.reason as DriverError);
    ctx.signal.addEventListener("abort", this.onAbort, { once: true });
    if (ctx.signal.aborted) this.onAbort();
    if (this.deadline) {
      const left = this.deadline.getTime() - Date.now();
      // The answer must reach the host before its deadline: entries stop a little earlier.
      const margin = Math.min(1000, Math.max(50, left / 10));
      this.timer = setTimeout(
        () => this.stop(deadlineExceeded("no answer before the GetMachineStates call's deadline")),
        Math.max(0, left - margin),
      );
    }
  }

  close(): void {
    clearTimeout(this.timer);
    this.ctx.signal.removeEventListener("abort", this.onAbort);
  }

  private stop(reason: DriverError): void {
    if (this.stopped) return;
    this.stopped = reason instanceof DriverError ? reason : deadlineExceeded(String(reason));
    for (const call of this.running) call.abort(this.stopped);
  }

  /** SetConfig, GetState and, when RUNNING, GetIP of one machine; whatever fails is the entry's error. */
  async answer(machine: string, configJson: Buffer): Promise<Entry> {
    try {
      await this.call(machine, "setConfig", { configJson });
      const { state } = (await this.call(machine, "getState", {})) as { state?: State };
      const running = (state ?? State.STATE_NONE_UNSPECIFIED) === State.STATE_RUNNING;
      let ip = "";
      if (running && this.instances.handlers.getIp) {
        // No IP is not a failure of the listing: the state is what was asked.
        ip = await this.call(machine, "getIp", {}).then(
          (r) => (r as { ip?: string }).ip ?? "",
          () => "",
        );
      }
      return { machine, state: state ?? State.STATE_NONE_UNSPECIFIED, ip };
    } catch (err) {
      const path = `/driverplug.driver.v1.DriverService/GetMachineStates (machine ${JSON.stringify(machine)})`;
      const status = toServiceError(err, undefined, path, this.log);
      return failed(machine, (status.code as number as Code) ?? Code.UNKNOWN, status.details ?? "");
    }
  }

  /** One method of the machine's instance, admitted by its gate as the host's own call would be. */
  private async call(machine: string, method: "setConfig" | "getState" | "getIp", request: object): Promise<unknown> {
    if (this.stopped) throw this.stopped;
    const handler = this.instances.handlers[method] as AnyHandler | undefined;
    if (!handler) throw new DriverError(Code.UNIMPLEMENTED, `the driver does not implement ${method}`);
    const metadata = this.ctx.metadata.clone();
    metadata.set(MACHINE_METADATA_KEY, machine);
    const active = new ActiveCall(new EntryCall(metadata, this.deadline), method);
    this.running.add(active);
    try {
      const entered = this.instances.gate.enter(method, active);
      const release = typeof entered === "function" ? entered : await entered;
      return await this.run(handler, request, active, release);
    } finally {
      this.running.delete(active);
      active.dispose();
    }
  }

  /** The handler's answer, or the abort's reason at once; the gate opens when the handler has really ended. */
  private run(handler: AnyHandler, request: object, active: ActiveCall, release: Release): Promise<unknown> {
    let running: Promise<unknown>;
    try {
      running = Promise.resolve(handler(request, active.ctx));
    } catch (err) {
      running = Promise.reject(err);
    }
    running.then(release, release);
    return active.race(running);
  }
}
