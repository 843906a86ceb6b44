// The CLI's plugins, one run's worth. A driver whose plugin serves many
// machines (CAPABILITY_MACHINE_INSTANCES) gets one process for every machine
// the command touches; the calls name their machine. A driver without it gets
// a process per machine, started at most `limit` at a time (the number of
// cores): starting them all at once is what turned every row of
// docker-machine's `ls` into Timeout. Each machine's timeout starts with its
// own turn, not with the command.
import { availableParallelism } from "node:os";
import { Capability } from "../../generated/driverplug/driver/v1/driver.js";
import type { DriverClient, DriverHandle } from "./driver-launcher.js";
import { LaunchError } from "../host/launch-error.js";
import { budgetSpent, seconds, SIGNAL_AFTER_DEADLINE_MS } from "./command-timeout.js";
import { Interrupted } from "./interrupt.js";

/** A machine's turn (its plugin's start and its calls) ran out of time. */
export class TurnTimeout extends Error {
  override name = "TurnTimeout";
  constructor(
    readonly timeoutMs: number,
    options?: { cause?: unknown },
    /** The time ran out before the machine's plugin was up (its start, or a wait for a slot). */
    readonly beforeStart = false,
  ) {
    super(`no answer within ${seconds(timeoutMs)}`, options);
  }
}

/** The command is over and its plugins closed: nothing more is launched. */
export class PoolClosed extends Error {
  override name = "PoolClosed";
  constructor() {
    super("the command's plugins were already closed: no plugin is started after the command ended");
  }
}

/** How long a plugin has to start when the turn allows longer (the host's own default). */
export const PLUGIN_START_TIMEOUT_MS = 30_000;

/** One machine's timeout: started when its turn starts, restarted if it waits for a slot. */
class TurnClock {
  private signal: AbortSignal | undefined;
  /** Epoch ms when the turn ends, once started. */
  at = Infinity;
  constructor(private readonly ms: number) {}

  get expired(): boolean {
    return this.signal !== undefined && budgetSpent(this.signal, this.at);
  }

  /** The turn's signal, started on first use. */
  start(outer: AbortSignal): AbortSignal {
    if (!this.signal) {
      this.at = Date.now() + this.ms;
      this.signal = AbortSignal.timeout(this.ms + SIGNAL_AFTER_DEADLINE_MS);
    }
    return AbortSignal.any([outer, this.signal]);
  }

  restart(outer: AbortSignal): AbortSignal {
    this.signal = undefined;
    return this.start(outer);
  }
}

/** `cold`: a plugin of this command's own, never a warm one (see TurnOptions.busy). */
export type Launcher = (
  driver: string,
  signal?: AbortSignal,
  startTimeoutMs?: number,
  cold?: boolean,
) => Promise<DriverHandle>;

/** One machine's plugin for the length of a session. */
export interface MachinePlugin {
  driver: DriverHandle;
  /** The client whose calls go to this machine (its instance, on a shared plugin). */
  client: DriverClient;
  /** True when other machines' calls share the process. */
  shared: boolean;
}

export interface TurnOptions {
  /** Ctrl-C, or the caller's own end. */
  signal: AbortSignal;
  /** Counted from the machine's turn: its plugin's start (at most PLUGIN_START_TIMEOUT_MS of it) and its calls. */
  timeoutMs?: number;
  /**
   * True when another command is working on the machine (holds its lock). Its
   * calls then go to a plugin of this command's own, as without warm plugins:
   * on the warm plugin the other command shares, they would queue behind its
   * mutation of the machine.
   */
  busy?: () => Promise<boolean>;
}

/** What a machine's turn gives its work: the signal that ends it, and the deadline its calls carry. */
export interface Turn {
  signal: AbortSignal;
  /** The turn's end, for the calls' deadline; undefined without a timeout. */
  deadline?: Date;
}

/** The first plugin of a driver, and whether it serves every machine of that driver. */
interface Probe {
  handle: DriverHandle;
  shared: boolean;
  /** A plugin without the capability serves the first machine that asks, then is closed. */
  claimed: boolean;
}

/** A driver's first plugin: `started` once it has a slot and is being launched. */
interface Probing {
  started: Promise<void>;
  ready: Promise<Probe>;
}

export class PluginPool {
  private readonly probes = new Map<string, Probing>();
  private readonly open = new Set<DriverHandle>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Set by close(): nothing is launched afterwards, and a launch still under way is closed when it lands. */
  private closed = false;

  constructor(
    private readonly launch: Launcher,
    readonly limit = availableParallelism(),
  ) {}

  /** Starts `driver`'s plugin now, so it starts while the command does other work. */
  warm(driver: string, startTimeoutMs?: number): void {
    // The warm-up races the command: one that failed fast (a busy lock) has closed the pool already,
    // and a plugin started now would be closed by nobody and keep the CLI alive for ever.
    if (this.closed) return;
    this.probe(driver, startTimeoutMs).ready.catch(() => undefined);
  }

  /**
   * Runs `fn` with a plugin for `machine`; the plugin is closed afterwards
   * unless it is shared. A timeout of the machine's turn throws TurnTimeout.
   */
  async withMachine<T>(
    driver: string,
    machine: string,
    options: TurnOptions,
    fn: (plugin: MachinePlugin, turn: Turn) => Promise<T>,
  ): Promise<T> {
    const timeout = options.timeoutMs === undefined ? undefined : new TurnClock(options.timeoutMs);
    const turn = () => timeout?.start(options.signal) ?? options.signal;
    const startTimeoutMs =
      options.timeoutMs === undefined ? undefined : Math.min(options.timeoutMs, PLUGIN_START_TIMEOUT_MS);
    const work = (signal: AbortSignal): Turn => ({
      signal,
      ...(timeout && timeout.at !== Infinity ? { deadline: new Date(timeout.at) } : {}),
    });
    if (this.closed) throw new PoolClosed();
    let up = false;
    const run = (plugin: MachinePlugin, given: Turn) => {
      up = true;
      return fn(plugin, given);
    };
    try {
      // The driver's first plugin may wait for a slot; the machine's turn starts when it starts.
      const probing = this.probe(driver, startTimeoutMs);
      await abortable(probing.started, options.signal);
      // A shared plugin's start is part of every machine's turn: they all start together.
      const probe = await abortable(probing.ready, turn());
      const apart = probe.shared && probe.handle.warm && (await options.busy?.()) === true;
      if (probe.shared && !probe.handle.gone && !apart)
        return await run(
          { driver: probe.handle, client: probe.handle.forMachine(machine), shared: true },
          work(turn()),
        );
      let handle: DriverHandle;
      let signal: AbortSignal;
      if (!probe.shared && !probe.claimed && !probe.handle.gone) {
        // The first machine takes the probing plugin, and the slot it holds.
        probe.claimed = true;
        handle = probe.handle;
        signal = turn();
      } else {
        await this.takeSlot(options.signal);
        signal = timeout?.restart(options.signal) ?? options.signal;
        try {
          handle = await this.launchOwn(driver, signal, startTimeoutMs, apart);
        } catch (err) {
          this.freeSlot();
          throw err;
        }
      }
      try {
        return await run({ driver: handle, client: handle.client, shared: false }, work(signal));
      } finally {
        await handle.close();
        this.open.delete(handle);
        this.freeSlot();
      }
    } catch (err) {
      if (options.signal.aborted) throw err;
      // A plugin start cut short by the turn's own end is the turn's timeout too.
      const launchTimedOut =
        err instanceof LaunchError && err.reason === "timeout" && startTimeoutMs === options.timeoutMs;
      if (timeout?.expired || launchTimedOut) throw new TurnTimeout(options.timeoutMs ?? 0, { cause: err }, !up);
      throw err;
    }
  }

  /**
   * Runs `fn` with `driver`'s plugin when one plugin serves all its machines
   * (machine instances); resolves undefined without running it when each
   * machine gets a plugin of its own, leaving the probing plugin to the first
   * machine that asks. The turn and its timeout are as withMachine's.
   */
  async withSharedPlugin<T>(
    driver: string,
    options: TurnOptions,
    fn: (plugin: DriverHandle, turn: Turn) => Promise<T>,
  ): Promise<T | undefined> {
    const timeout = options.timeoutMs === undefined ? undefined : new TurnClock(options.timeoutMs);
    const startTimeoutMs =
      options.timeoutMs === undefined ? undefined : Math.min(options.timeoutMs, PLUGIN_START_TIMEOUT_MS);
    if (this.closed) throw new PoolClosed();
    let up = false;
    try {
      const probing = this.probe(driver, startTimeoutMs);
      await abortable(probing.started, options.signal);
      const signal = timeout?.start(options.signal) ?? options.signal;
      const probe = await abortable(probing.ready, signal);
      if (!probe.shared || probe.handle.gone) return undefined;
      up = true;
      return await fn(probe.handle, { signal, ...(timeout ? { deadline: new Date(timeout.at) } : {}) });
    } catch (err) {
      if (options.signal.aborted) throw err;
      const launchTimedOut =
        err instanceof LaunchError && err.reason === "timeout" && startTimeoutMs === options.timeoutMs;
      if (timeout?.expired || launchTimedOut) throw new TurnTimeout(options.timeoutMs ?? 0, { cause: err }, !up);
      throw err;
    }
  }

  /** Closes every plugin still open (each close is idempotent). */
  async close(): Promise<void> {
    this.closed = true;
    // Probes waiting for a slot get one, see the pool closed and give up, instead of waiting for ever.
    for (const next of this.waiting.splice(0)) next();
    const launching = [...this.probes.values()].map((p) =>
      p.ready.then(
        (probe) => probe.handle.close(),
        () => undefined,
      ),
    );
    await Promise.all([...launching, ...[...this.open].map((h) => h.close())]);
  }

  private probe(driver: string, startTimeoutMs?: number): Probing {
    let probing = this.probes.get(driver);
    if (!probing) {
      let started!: () => void;
      const slot = new Promise<void>((resolve) => (started = resolve));
      const ready = this.launchProbe(driver, started, startTimeoutMs);
      const mine: Probing = { started: slot, ready };
      probing = mine;
      this.probes.set(driver, mine);
      // A failed start is retried by the next machine that asks (its own timeout, its own error).
      ready.catch(() => this.probes.get(driver) === mine && this.probes.delete(driver));
    }
    return probing;
  }

  private async launchProbe(driver: string, started: () => void, startTimeoutMs?: number): Promise<Probe> {
    // The probe counts against the limit until it is known to be shared.
    await this.takeSlot();
    started();
    let handle: DriverHandle;
    try {
      if (this.closed) throw new PoolClosed();
      handle = await this.launch(driver, undefined, startTimeoutMs);
    } catch (err) {
      this.freeSlot();
      throw err;
    }
    this.open.add(handle);
    if (this.closed) {
      await handle.close();
      this.freeSlot();
      throw new PoolClosed();
    }
    const shared = await servesManyMachines(handle);
    if (shared) this.freeSlot();
    return { handle, shared, claimed: false };
  }

  private async launchOwn(
    driver: string,
    signal: AbortSignal,
    startTimeoutMs?: number,
    cold = false,
  ): Promise<DriverHandle> {
    if (this.closed) throw new PoolClosed();
    const handle = await this.launch(driver, signal, startTimeoutMs, cold);
    this.open.add(handle);
    if (this.closed) {
      await handle.close();
      throw new PoolClosed();
    }
    return handle;
  }

  private async takeSlot(signal?: AbortSignal): Promise<void> {
    if (this.running < this.limit) {
      this.running++;
      return;
    }
    await abortable(new Promise<void>((resolve) => this.waiting.push(resolve)), signal, () => this.freeSlot());
  }

  private freeSlot(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next waiter.
    if (next) next();
    else this.running--;
  }
}

/** GetInfo's capabilities; a plugin that cannot answer it (an old or foreign one) serves one machine. */
async function servesManyMachines(handle: DriverHandle): Promise<boolean> {
  try {
    const info = await handle.client.getInfo({}, { timeoutMs: 5_000 });
    return info.capabilities.includes(Capability.CAPABILITY_MACHINE_INSTANCES);
  } catch {
    return false;
  }
}

/**
 * `promise`, or a rejection with the signal's reason if it fires first. When
 * the promise wins after the signal fired, `undo` gives back what it got.
 */
function abortable<T>(promise: Promise<T>, signal?: AbortSignal, undo?: (value: T) => void): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Interrupted());
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) undo?.(value);
        else resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
