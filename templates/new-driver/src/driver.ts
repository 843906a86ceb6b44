// The __DRIVER__ driver: what a machine is, and how to create, start, stop and
// remove one. driverplug runs this code in a plugin process of its own
// (src/main.ts) and a host (the `driverplug` command, or your own program)
// calls it over gRPC.
//
// The host may start a fresh plugin process for any command, so whatever must
// outlive one call is kept in files under the machine's storePath, never only
// in memory. Here the "machine" is a JSON file; a real driver asks its
// hypervisor for the state and keeps only what it cannot ask for.
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FlagType, State, type CreateFlag, type FlagValue } from "driverplug";
import { alreadyExists, failedPrecondition, invalidArgument, notFound, type Driver } from "driverplug/plugin";

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

function intFlag(name: string, usage: string, value: number, envVar: string): CreateFlag {
  return {
    name,
    usage,
    type: FlagType.FLAG_TYPE_INT,
    defaultValue: { kind: { $case: "intValue", value: BigInt(value) } },
    envVar,
  };
}

/** Flag name -> the config field it sets. */
const FLAG_FIELDS: Record<string, "cpus" | "memoryMiB"> = { cpus: "cpus", memory: "memoryMiB" };

const FLAGS: CreateFlag[] = [
  intFlag("cpus", "Number of virtual CPUs", DEFAULTS.cpus, "__ENV___CPUS"),
  intFlag("memory", "Memory size in MiB", DEFAULTS.memoryMiB, "__ENV___MEMORY"),
];

function checkRange(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
    throw invalidArgument(`config field "${field}" must be a whole number from ${min} to ${max}, got ${String(value)}`);
  return value;
}

function parseConfig(bytes: Uint8Array): MachineConfig {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (err) {
    throw invalidArgument(`the config is not JSON: ${(err as Error).message}`);
  }
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
}

export class MachineDriver implements Driver {
  private config: MachineConfig | undefined;

  async getCreateFlags() {
    return { flags: FLAGS };
  }

  async setConfigFromFlags({ values }: { values: Record<string, FlagValue> }) {
    const config = this.requireConfig();
    const next: Record<string, unknown> = { ...config };
    for (const [name, value] of Object.entries(values)) {
      const field = FLAG_FIELDS[name];
      if (field === undefined)
        throw invalidArgument(`unknown flag "${name}"; flags: ${Object.keys(FLAG_FIELDS).join(", ")}`);
      if (value.kind?.$case !== "intValue") throw invalidArgument(`flag "${name}" takes a whole number`);
      next[field] = Number(value.kind.value);
    }
    this.config = parseConfig(Buffer.from(JSON.stringify(next)));
    return {};
  }

  async setConfig({ configJson }: { configJson: Uint8Array }) {
    this.config = parseConfig(configJson);
    return {};
  }

  async getConfig() {
    return { configJson: Buffer.from(JSON.stringify(this.requireConfig())) };
  }

  async *create() {
    const config = this.requireConfig();
    if ((await this.readMachine()) !== undefined)
      throw alreadyExists(`machine "${config.machineName}" already exists in ${config.storePath}`);
    yield { progress: { step: "disk", message: `Making a ${config.memoryMiB} MiB machine`, percent: 50 } };
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

  /** Written whole or not at all: a crash never leaves half a file. */
  private async writeMachine(machine: MachineFile): Promise<void> {
    const tmp = `${this.machineFile()}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(machine));
    await rename(tmp, this.machineFile());
  }
}
