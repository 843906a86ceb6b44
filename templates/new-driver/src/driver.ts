// The __DRIVER__ driver: what a machine is, and how to create, start, stop and
// remove one. driverplug runs this code in a plugin process of its own
// (src/main.ts) and a host (the `driverplug` command, or your own program)
// calls it over gRPC.
//
// The host may start a fresh plugin process for any command, so whatever must
// outlive one call is kept in files under the machine's storePath, never only
// in memory. Here the "machine" is a JSON file; a real driver asks its
// hypervisor for the state and keeps only what it cannot ask for.
import { randomUUID } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  alreadyExists,
  failedPrecondition,
  intFlag,
  invalidArgument,
  jsonConfig,
  notFound,
  readFlags,
  State,
  type CallContext,
  type Driver,
  type DriverRequest,
} from "driverplug/plugin";

/** The machine's config: what the host stores in config.json and hands back with SetConfig. */
export interface MachineConfig {
  /** Set by the host: the machine's name and its own folder. */
  machineName: string;
  storePath: string;
  cpus: number;
  memoryMiB: number;
}

/** What the driver knows about a machine; a real driver derives the state from the system. */
interface MachineFile {
  state: "stopped" | "running";
}

const DEFAULTS = { cpus: 1, memoryMiB: 512 };

/** The create flags: `driverplug create --driver __DRIVER__ --cpus 2 --memory 1024 m1`. */
const FLAGS = [
  intFlag("cpus", { usage: "Number of virtual CPUs", default: DEFAULTS.cpus, env: "__ENV___CPUS" }),
  intFlag("memory", { usage: "Memory size in MiB", default: DEFAULTS.memoryMiB, env: "__ENV___MEMORY" }),
] as const;

function checkRange(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
    throw invalidArgument(`config field "${field}" must be a whole number from ${min} to ${max}, got ${String(value)}`);
  return value;
}

/** Parses and checks the config JSON; anything wrong is INVALID_ARGUMENT naming the field. */
const codec = jsonConfig<MachineConfig>((value) => {
  if (typeof value !== "object" || value === null) throw invalidArgument("the config must be a JSON object");
  const given = value as Partial<Record<keyof MachineConfig, unknown>>;
  if (typeof given.machineName !== "string" || given.machineName === "")
    throw invalidArgument('the config needs "machineName", a non-empty string');
  if (typeof given.storePath !== "string" || !given.storePath.startsWith("/"))
    throw invalidArgument('the config needs "storePath", an absolute path');
  return {
    machineName: given.machineName,
    storePath: given.storePath,
    cpus: checkRange("cpus", given.cpus ?? DEFAULTS.cpus, 1, 64),
    memoryMiB: checkRange("memoryMiB", given.memoryMiB ?? DEFAULTS.memoryMiB, 64, 1024 * 1024),
  };
});

// A class gets no parameter types from `implements Driver`: DriverRequest<"...">
// names each method's request (and CallContext its second parameter).
export class MachineDriver implements Driver {
  private config: MachineConfig | undefined;

  async getCreateFlags() {
    return { flags: [...FLAGS] };
  }

  async setConfigFromFlags({ values }: DriverRequest<"setConfigFromFlags">) {
    const given = readFlags(FLAGS, values);
    const config = this.requireConfig();
    // Through the codec again, so a flag value gets the same checks as the config.
    this.config = codec.decode(
      codec.encode({ ...config, cpus: given.cpus ?? config.cpus, memoryMiB: given.memory ?? config.memoryMiB }),
    );
    return {};
  }

  async setConfig({ configJson }: DriverRequest<"setConfig">) {
    this.config = codec.decode(configJson);
    return {};
  }

  async getConfig() {
    return { configJson: codec.encode(this.requireConfig()) };
  }

  async *create(_request: DriverRequest<"create">, ctx: CallContext) {
    const config = this.requireConfig();
    if ((await this.readMachine()) !== undefined)
      throw alreadyExists(`machine "${config.machineName}" already exists in ${config.storePath}`);
    yield { progress: { step: "disk", message: `Making a ${config.memoryMiB} MiB machine`, percent: 50 } };
    // Aborted (the host cancelled, its deadline passed, or Kill): make nothing.
    ctx.signal.throwIfAborted();
    await this.writeMachine({ state: "stopped" });
    yield { progress: { step: "done", message: `Machine "${config.machineName}" created`, percent: 100 } };
  }

  async *start() {
    const machine = await this.requireMachine("start");
    if (machine.state === "running") return; // Start of a running machine is OK.
    yield { progress: { step: "boot", message: "Booting", percent: 50 } };
    await this.writeMachine({ state: "running" });
  }

  async stop() {
    await this.requireMachine("stop");
    await this.writeMachine({ state: "stopped" });
    return {};
  }

  async kill() {
    await this.requireMachine("kill");
    await this.writeMachine({ state: "stopped" });
    return {};
  }

  async remove() {
    const machine = await this.readMachine();
    if (machine === undefined) return {}; // Remove of a missing machine is OK.
    if (machine.state === "running")
      throw failedPrecondition(`machine "${this.requireConfig().machineName}" is running; stop it before removing it`);
    await rm(this.machineFile(), { force: true });
    return {};
  }

  async getState() {
    const machine = await this.readMachine();
    if (machine === undefined) return { state: State.STATE_NONE_UNSPECIFIED };
    return { state: machine.state === "running" ? State.STATE_RUNNING : State.STATE_STOPPED };
  }

  async getIp() {
    const machine = await this.requireMachine("get the IP of");
    if (machine.state !== "running")
      throw failedPrecondition(`machine "${this.requireConfig().machineName}" is not running, so it has no IP`);
    return { ip: "192.0.2.10" };
  }

  private requireConfig(): MachineConfig {
    if (this.config === undefined) throw failedPrecondition("no config yet: the host calls SetConfig first");
    return this.config;
  }

  private machineFile(): string {
    return join(this.requireConfig().storePath, "__DRIVER__-machine.json");
  }

  private async requireMachine(action: string): Promise<MachineFile> {
    const machine = await this.readMachine();
    if (machine === undefined)
      throw notFound(`cannot ${action} machine "${this.requireConfig().machineName}": it does not exist`);
    return machine;
  }

  private async readMachine(): Promise<MachineFile | undefined> {
    try {
      return JSON.parse(await readFile(this.machineFile(), "utf8")) as MachineFile;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  /**
   * Written whole or not at all: a crash never leaves half a file. The temp
   * name is new for every write (never only the pid), so two writes in this
   * process never share one: Kill runs after the call it aborted has settled,
   * but a driver may still write from two calls at once (a query's cache, or
   * an aborted call that outlived Kill's bounded wait).
   */
  private async writeMachine(machine: MachineFile): Promise<void> {
    const tmp = `${this.machineFile()}.${randomUUID()}.tmp`;
    await writeFile(tmp, JSON.stringify(machine), { flag: "wx", mode: 0o600 });
    try {
      await rename(tmp, this.machineFile());
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}
