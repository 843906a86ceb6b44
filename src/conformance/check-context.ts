// What a check body works with: its own store dir and machine name, plugins
// launched fresh for it, and a cleanup stack. Everything the check makes is
// pushed on the stack as it is made (plugins, machines, temp dirs) and undone
// last-made-first when the check ends, whether it passed, failed, timed out
// or the run was interrupted, as csi-sanity's resource tracker does.
import { setTimeout as sleep } from "node:timers/promises";
import {
  State,
  type Capability,
  type CreateResponse,
  type GetInfoResponse,
} from "../../generated/driverplug/driver/v1/driver.js";
import { fail, type DriverInfo } from "./check.js";
import { describeOutcome, expectOk, expectStreamOk, outcome, quote } from "./expectations.js";
import { KitPlugin } from "./kit-plugin.js";
import { LeftProcesses } from "./left-processes.js";
import type { JsonObject, KitSettings, SlowOperation } from "./kit-settings.js";

interface Cleanup {
  label: string;
  run(): Promise<void>;
}

export interface ConfigureOptions {
  /** Merge that operation's slow config in (for checks that act during a long Create or Start). */
  slow?: SlowOperation;
  /** Extra config fields. */
  extra?: JsonObject;
  /** Extra plugin environment. */
  env?: Record<string, string>;
}

export class CheckContext {
  private readonly cleanups: Cleanup[] = [];
  private readonly plugins: KitPlugin[] = [];
  /** Set when cleanup begins: the check has been stopped, and nothing new may be made for it. */
  private closing = false;
  /** Plugin launches under way: cleanup waits for them, so a plugin that comes up late is closed too. */
  private readonly launching = new Set<Promise<unknown>>();
  /** Undo steps registered after cleanup began (a check body still running after a timeout or Ctrl-C), run at once. */
  private readonly late = new Set<Promise<void>>();
  private readonly lateProblems: string[] = [];
  /** The processes the check's plugins leave running (left-processes.ts). */
  readonly left = new LeftProcesses();

  constructor(
    readonly settings: KitSettings,
    /** "category > check", what --skip matches: for messages that tell the author how to leave it out. */
    readonly checkId: string,
    private readonly driver: DriverInfo,
    readonly machineName: string,
    readonly storePath: string,
    readonly signal: AbortSignal,
  ) {}

  /** GetInfo as the kit read it before the checks. */
  get info(): GetInfoResponse {
    if (!this.driver.ok) fail(`cannot run without the driver's GetInfo: ${this.driver.error}`);
    return this.driver.info;
  }

  has(capability: Capability): boolean {
    return this.driver.ok && this.driver.info.capabilities.includes(capability);
  }

  /** Whether a slow config was given for `operation`: the driver then promised it lasts. */
  hasSlowConfig(operation: SlowOperation): boolean {
    return this.slowConfig(operation) !== undefined;
  }

  private slowConfig(operation: SlowOperation): JsonObject | undefined {
    return operation === "Create" ? this.settings.slowCreateConfig : this.settings.slowStartConfig;
  }

  /**
   * The driver's config as GetConfig returned it after Create: what a host
   * saves and loads into every later plugin for the machine (the driver may
   * have filled in fields at Create, such as a port it picked).
   */
  private saved: JsonObject | undefined;

  /** The check's config: the saved one, or the driver-specific part; then the extras and the kit's own machineName and storePath. */
  config(options: ConfigureOptions = {}): JsonObject {
    return {
      ...(this.saved ?? this.settings.config),
      ...(options.slow ? this.slowConfig(options.slow) : {}),
      ...options.extra,
      machineName: this.machineName,
      storePath: this.storePath,
    };
  }

  configJson(options: ConfigureOptions = {}): Buffer {
    return Buffer.from(JSON.stringify(this.config(options)));
  }

  /**
   * Registers an undo step; steps run in reverse order when the check ends.
   * A step registered once cleanup has begun (the check body carried on after
   * it was stopped) runs at once.
   */
  defer(label: string, run: () => Promise<void>): void {
    if (!this.closing) {
      this.cleanups.push({ label, run });
      return;
    }
    const step = run()
      .catch((err: unknown) => void this.lateProblems.push(`${label}: ${(err as Error).message}`))
      .finally(() => this.late.delete(step));
    this.late.add(step);
  }

  /** Waits `ms`; throws once the check has been stopped, so a polling loop in a check body ends with the check. */
  pause(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.signal });
  }

  /** A fresh plugin process for this check, closed when the check ends. */
  async launch(env: Record<string, string> = {}): Promise<KitPlugin> {
    this.signal.throwIfAborted();
    if (this.closing) fail("the check was stopped before this plugin was launched");
    // The plugin is registered for closing in the same step that launches it,
    // so cleanup, which waits for launches under way, always finds it.
    const launched = KitPlugin.launch(this.settings, env, this.left).then((plugin) => {
      this.plugins.push(plugin);
      this.defer(`close plugin pid ${plugin.pid}`, () => plugin.close());
      return plugin;
    });
    this.launching.add(launched);
    try {
      return await launched.catch((err: unknown) => fail(`the plugin did not start: ${(err as Error).message}`));
    } finally {
      this.launching.delete(launched);
    }
  }

  /** A fresh plugin with the check's config loaded (SetConfig, then the given create flags). */
  async configured(options: ConfigureOptions = {}): Promise<KitPlugin> {
    const plugin = await this.launch(options.env);
    await this.setConfig(plugin, options);
    return plugin;
  }

  /** SetConfig (plus the given flags), as a host does when it loads a machine. */
  async setConfig(plugin: KitPlugin, options: ConfigureOptions = {}): Promise<void> {
    await expectOk(
      "SetConfig with the check's config",
      plugin.client.setConfig({ configJson: this.configJson(options) }),
    );
    if (Object.keys(this.settings.flagValues).length > 0) {
      await expectOk(
        "SetConfigFromFlags with the given --flag values",
        plugin.client.setConfigFromFlags({ values: this.settings.flagValues }),
      );
    }
  }

  /**
   * Create, which must stream well-formed progress and end OK. The machine is
   * registered for removal before the call, so a Create that half-works is
   * cleaned up too.
   */
  async create(plugin: KitPlugin): Promise<CreateResponse[]> {
    this.deferMachineRemoval();
    const events = await expectStreamOk("Create", plugin.client.create({}));
    const { configJson } = await expectOk("GetConfig after Create", plugin.client.getConfig({}));
    try {
      const value: unknown = JSON.parse(Buffer.from(configJson).toString("utf8"));
      if (typeof value === "object" && value !== null && !Array.isArray(value)) this.saved = value as JsonObject;
    } catch {
      fail(`GetConfig after Create: expected JSON, got ${quote(Buffer.from(configJson).toString("utf8"))}`);
    }
    return events;
  }

  /** A plugin whose machine exists, STOPPED (stopped again if the driver's Create boots it). */
  async created(options: ConfigureOptions = {}): Promise<KitPlugin> {
    const plugin = await this.configured(options);
    await this.create(plugin);
    const { state } = await expectOk("GetState after Create", plugin.client.getState({}));
    if (state === State.STATE_RUNNING) await expectOk("Stop after Create", plugin.client.stop({}));
    return plugin;
  }

  /** A plugin whose machine runs. */
  async running(options: ConfigureOptions = {}): Promise<KitPlugin> {
    const plugin = await this.created(options);
    await expectStreamOk("Start", plugin.client.start({}));
    return plugin;
  }

  private machineRemovalDeferred = false;

  /** Kill and Remove the check's machine at the end, through a live plugin of the check or a new one. */
  deferMachineRemoval(): void {
    if (this.machineRemovalDeferred) return;
    this.machineRemovalDeferred = true;
    this.defer(`remove machine ${this.machineName}`, async () => {
      let plugin = [...this.plugins].reverse().find((p) => !p.gone);
      if (!plugin) {
        plugin = await KitPlugin.launch(this.settings, {}, this.left);
        this.plugins.push(plugin);
      }
      const client = plugin.client;
      try {
        await client.setConfig({ configJson: this.configJson() });
        await outcome(client.kill({}));
        const removed = await outcome(client.remove({}));
        if (!removed.ok) throw new Error(`Remove answered ${describeOutcome(removed.error)}`);
      } finally {
        if (!this.cleanups.some((c) => c.label === `close plugin pid ${plugin.pid}`)) await plugin.close();
      }
    });
  }

  /** Runs the cleanup stack, last first; returns what failed (cleanup goes on after a failure). */
  async cleanup(): Promise<string[]> {
    this.closing = true;
    await Promise.allSettled([...this.launching]);
    const problems: string[] = [];
    for (let c = this.cleanups.pop(); c !== undefined; c = this.cleanups.pop()) {
      try {
        await c.run();
      } catch (err) {
        problems.push(`${c.label}: ${(err as Error).message}`);
      }
    }
    await Promise.allSettled([...this.late]);
    problems.push(...this.lateProblems.splice(0));
    return problems;
  }
}
