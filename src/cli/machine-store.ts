// The machine store: one directory per machine under <store>/machines, each
// holding config.json = {"version": 1, "driver": "<name>", "config": {...}}.
// The driver's own files live next to it (the directory is its storePath).
// A config.json that cannot be read is reported with its path and never
// rewritten, so a hand edit gone wrong loses nothing.
import { mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { CliError, EXIT_NOT_FOUND, EXIT_PRECONDITION } from "./cli-error.js";
import { writeFileAtomic } from "./atomic-write.js";
import { checkMachineName, isValidMachineName } from "./machine-name.js";

export const STORE_ENV = "DRIVERPLUG_STORE";
/** Bumped when the layout of config.json changes incompatibly. */
export const STORE_FORMAT_VERSION = 1;
const CONFIG_FILE = "config.json";

export interface MachineRecord {
  driver: string;
  /** The driver's config, exactly as its GetConfig returned it. */
  config: Record<string, unknown>;
}

/** The store root: $DRIVERPLUG_STORE, else ~/.driverplug. Always absolute. */
export function storeRoot(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[STORE_ENV];
  return resolve(fromEnv !== undefined && fromEnv !== "" ? fromEnv : join(homedir(), ".driverplug"));
}

export class MachineStore {
  constructor(readonly root: string) {}

  get machinesDir(): string {
    return join(this.root, "machines");
  }

  get locksDir(): string {
    return join(this.root, "locks");
  }

  machineDir(name: string): string {
    return join(this.machinesDir, checkMachineName(name));
  }

  configPath(name: string): string {
    return join(this.machineDir(name), CONFIG_FILE);
  }

  /** Names of every machine directory, sorted; entries that are not valid names are skipped. */
  async list(): Promise<string[]> {
    let entries;
    try {
      entries = await readdir(this.machinesDir, { withFileTypes: true });
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    return entries
      .filter((e) => e.isDirectory() && isValidMachineName(e.name))
      .map((e) => e.name)
      .sort();
  }

  async dirExists(name: string): Promise<boolean> {
    try {
      return (await stat(this.machineDir(name))).isDirectory();
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async hasConfig(name: string): Promise<boolean> {
    try {
      return (await stat(this.configPath(name))).isFile();
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Reads a machine's record; a missing or invalid file is a CliError naming it. */
  async read(name: string): Promise<MachineRecord> {
    const path = this.configPath(name);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if (isNotFound(err)) {
        if (await this.dirExists(name)) {
          throw new CliError(
            `machine ${JSON.stringify(name)} has no ${path} (an interrupted create?): remove it with "driverplug rm ${name}"`,
            EXIT_PRECONDITION,
          );
        }
        throw new CliError(
          `no machine named ${JSON.stringify(name)} in ${this.machinesDir}: "driverplug ls" lists the machines, "driverplug create" makes one`,
          EXIT_NOT_FOUND,
        );
      }
      throw err;
    }
    return parseRecord(text, path);
  }

  /** Creates the machine's directory (0700); fails if it exists. */
  async createDir(name: string): Promise<string> {
    const dir = this.machineDir(name);
    await mkdir(this.machinesDir, { recursive: true, mode: 0o700 });
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") {
        throw new CliError(
          `machine ${JSON.stringify(name)} already exists in ${dir}: pick another name, or remove it first with "driverplug rm ${name}"`,
          EXIT_PRECONDITION,
        );
      }
      throw err;
    }
    return dir;
  }

  async write(name: string, record: MachineRecord): Promise<void> {
    const body = { version: STORE_FORMAT_VERSION, driver: record.driver, config: record.config };
    await writeFileAtomic(this.configPath(name), `${JSON.stringify(body, null, 2)}\n`);
  }

  async removeDir(name: string): Promise<void> {
    await rm(this.machineDir(name), { recursive: true, force: true });
  }
}

/** Checks config.json's shape; every failure names the file and leaves it alone. */
export function parseRecord(text: string, path: string): MachineRecord {
  const bad = (why: string) =>
    new CliError(
      `${path} is not a valid machine config (${why}); it was left unchanged: fix it by hand or restore it from a backup`,
      EXIT_PRECONDITION,
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw bad(`not JSON: ${(err as Error).message}`);
  }
  if (!isObject(value)) throw bad("expected a JSON object");
  if (value.version !== STORE_FORMAT_VERSION) {
    throw bad(`"version" is ${JSON.stringify(value.version)}, this driverplug reads version ${STORE_FORMAT_VERSION}`);
  }
  if (typeof value.driver !== "string" || value.driver === "") throw bad(`"driver" must be a non-empty string`);
  if (!isObject(value.config)) throw bad(`"config" must be a JSON object`);
  return { driver: value.driver, config: value.config };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}
