// The fake driver: a deterministic machine that lives in a JSON record under
// its store path. A true state machine (none -> create -> stopped -> start:
// starting -> running -> stop: stopping -> stopped; kill from any state ->
// stopped; remove), with progress on Create and Start, for tests and demos.
import { setTimeout as sleep } from "node:timers/promises";
import { join } from "node:path";
import {
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  notFound,
  State,
  type CallContext,
  type Driver,
  type FlagValue,
  type Logger,
  type Progress,
} from "../../plugin/index.js";
import { configCodec, redactedConfig, type FakeConfig } from "./config.js";
import { applyFlags, createFlags } from "./flags.js";
import { DOCKER_PORT, SSH_PORT, SSH_USER, machineIp } from "./machine-address.js";
import { DISK_FILE, KEY_FILE, MachineStore, type MachineRecord } from "./machine-store.js";
import { StateBoard } from "./state-board.js";

interface Step {
  step: string;
  message: string;
  percent: number;
  run?: () => Promise<void>;
}

export class FakeDriver implements Driver {
  private config: FakeConfig | undefined;
  private store: MachineStore | undefined;
  private record: MachineRecord | undefined;
  private creating = false;
  private readonly board = new StateBoard();

  constructor(private readonly log: Logger) {}

  async getCreateFlags() {
    return { flags: createFlags() };
  }

  async setConfigFromFlags({ values }: { values: Record<string, FlagValue> }) {
    const config = this.requireConfig();
    this.config = applyFlags(config, values);
    this.log.debug("config set from flags", { config: redactedConfig(this.config) });
    return {};
  }

  async getConfig() {
    return { configJson: configCodec.encode(this.requireConfig()) };
  }

  async setConfig({ configJson }: { configJson: Buffer }) {
    const config = configCodec.decode(configJson);
    const store = new MachineStore(config.storePath);
    const record = await store.read();
    this.config = config;
    this.store = store;
    this.record = record?.name === config.machineName ? record : undefined;
    this.board.rest(this.record?.state);
    this.log.debug("config set", { config: redactedConfig(config), machineExists: this.record !== undefined });
    return {};
  }

  async updateConfig({ configJson }: { configJson: Buffer }) {
    const current = this.requireConfig();
    const next = configCodec.decode(configJson);
    for (const field of ["machineName", "storePath"] as const) {
      if (next[field] !== current[field])
        throw invalidArgument(
          `config field "${field}" cannot change on an existing machine (${JSON.stringify(current[field])} -> ${JSON.stringify(next[field])})`,
        );
    }
    const record = this.requireMachine("update");
    if (record.state !== "stopped" || this.board.current !== State.STATE_STOPPED) {
      throw failedPrecondition(`machine "${current.machineName}" is running; stop it before changing its config`);
    }
    this.config = next;
    return {};
  }

  async preCreateCheck() {
    const config = this.requireConfig();
    if (this.record) throw failedPrecondition(`machine "${config.machineName}" already exists in ${config.storePath}`);
    return {};
  }

  async *create(_request: unknown, { signal }: CallContext) {
    const config = this.requireConfig();
    const store = this.requireStore();
    if (this.record) throw alreadyExists(`machine "${config.machineName}" already exists in ${config.storePath}`);
    this.creating = true;
    try {
      yield* this.runSteps(config, signal, [
        { step: "check", message: "Checking the configuration", percent: 10 },
        {
          step: "key",
          message: "Making the SSH key",
          percent: 30,
          run: () => store.writeOwned(KEY_FILE, `fake ssh key for ${config.machineName}\n`),
        },
        {
          step: "disk",
          message: `Making a ${config.diskGiB} GiB disk`,
          percent: 60,
          run: () =>
            store.writeOwned(DISK_FILE, JSON.stringify({ sizeGiB: config.diskGiB, bundle: config.bundleName })),
        },
        { step: "network", message: `Attaching networks ${config.networks.join(", ")}`, percent: 80 },
      ]);
      const record: MachineRecord = { name: config.machineName, state: "stopped" };
      await store.write(record);
      this.record = record;
      this.board.rest("stopped");
      yield progress({ step: "done", message: `Machine "${config.machineName}" created`, percent: 100 });
    } catch (err) {
      // Leave no half-made machine behind.
      if (!this.record) await store.removeOwned();
      throw err;
    } finally {
      this.creating = false;
    }
  }

  async *start(_request: unknown, { signal }: CallContext) {
    const config = this.requireConfig();
    const record = this.requireMachine("start");
    if (record.state === "running") return;
    this.board.pass(State.STATE_STARTING);
    try {
      yield* this.runSteps(config, signal, [
        { step: "boot", message: "Booting", percent: 25 },
        { step: "network", message: "Waiting for an IP address", percent: 50 },
        { step: "ssh", message: "Waiting for SSH", percent: 75 },
      ]);
      // A Kill that came during the last step wins: it has written (or is writing) "stopped".
      signal.throwIfAborted();
      await this.rest("running");
      yield progress({ step: "ready", message: `Machine "${config.machineName}" is running`, percent: 100 });
    } catch (err) {
      if (this.board.current === State.STATE_STARTING) this.board.rest(this.record?.state);
      throw err;
    }
  }

  async stop(_request: unknown, { signal }: CallContext) {
    const config = this.requireConfig();
    const record = this.requireMachine("stop");
    if (record.state === "stopped") return {};
    this.board.pass(State.STATE_STOPPING);
    try {
      await this.delay(config, signal);
      await this.rest("stopped");
    } catch (err) {
      if (this.board.current === State.STATE_STOPPING) this.board.rest(this.record?.state);
      throw err;
    }
    return {};
  }

  async restart(request: unknown, ctx: CallContext) {
    await this.stop(request, ctx);
    for await (const _ of this.start(request, ctx)) {
      // Restart reports no progress; it only has to finish.
    }
    return {};
  }

  async kill() {
    const config = this.requireConfig();
    if (!this.record) {
      // A Create in flight has just been aborted and cleans up after itself.
      if (this.creating) return {};
      throw notFound(`machine "${config.machineName}" does not exist`);
    }
    await this.rest("stopped");
    this.log.info("machine killed", { machine: config.machineName });
    return {};
  }

  async remove() {
    const config = this.requireConfig();
    const store = this.requireStore();
    if (!this.record) return {};
    if (this.record.state !== "stopped")
      throw failedPrecondition(`machine "${config.machineName}" is running; stop or kill it before removing it`);
    await store.removeAll();
    this.record = undefined;
    this.board.rest(undefined);
    return {};
  }

  async getState() {
    this.requireConfig();
    return { state: this.board.current };
  }

  async *watchState(_request: unknown, { signal }: CallContext) {
    this.requireConfig();
    for await (const state of this.board.watch(signal)) yield { state };
  }

  async getMachineName() {
    return { name: this.requireConfig().machineName };
  }

  async getIp() {
    return { ip: this.requireRunning("an IP address") };
  }

  async getUrl() {
    return { url: `tcp://${this.requireRunning("a URL")}:${DOCKER_PORT}` };
  }

  async getSshInfo() {
    const ip = this.requireRunning("SSH access");
    return {
      hostname: ip,
      port: SSH_PORT,
      username: SSH_USER,
      keyPath: join(this.requireConfig().storePath, KEY_FILE),
    };
  }

  async getBundleName() {
    return { bundleName: this.requireConfig().bundleName };
  }

  async getSharedDirs() {
    return { sharedDirs: this.requireConfig().sharedDirs };
  }

  private async *runSteps(config: FakeConfig, signal: AbortSignal, steps: Step[]) {
    for (const step of steps) {
      await this.delay(config, signal);
      await step.run?.();
      this.log.debug("progress", { machine: config.machineName, step: step.step, percent: step.percent });
      yield progress(step);
    }
  }

  private async delay(config: FakeConfig, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (config.stepDelayMs > 0) await sleep(config.stepDelayMs, undefined, { signal });
  }

  private async rest(state: MachineRecord["state"]): Promise<void> {
    const record: MachineRecord = { name: this.requireConfig().machineName, state };
    await this.requireStore().write(record);
    this.record = record;
    this.board.rest(state);
  }

  private requireConfig(): FakeConfig {
    if (!this.config) throw failedPrecondition("no config set: call SetConfig with the machine's config first");
    return this.config;
  }

  private requireStore(): MachineStore {
    this.requireConfig();
    return this.store!;
  }

  private requireMachine(action: string): MachineRecord {
    const config = this.requireConfig();
    if (!this.record)
      throw notFound(`cannot ${action} machine "${config.machineName}": it does not exist (create it first)`);
    return this.record;
  }

  private requireRunning(what: string): string {
    const config = this.requireConfig();
    const record = this.requireMachine(`get ${what} of`);
    if (record.state !== "running" || this.board.current !== State.STATE_RUNNING) {
      throw failedPrecondition(`machine "${config.machineName}" is not running, so it has no ${what}; start it first`);
    }
    return machineIp(config.machineName);
  }
}

function progress(step: Progress): { progress: Progress } {
  return { progress: { step: step.step, message: step.message, percent: step.percent } };
}
