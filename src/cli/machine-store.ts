// The machine store: one directory per machine under <store>/machines, each
// holding config.json = {"version": 1, "driver": "<name>", "config": {...}}.
// The driver's own files live next to it (the directory is its storePath).
// A config.json that cannot be read is reported with its path and never
// rewritten, so a hand edit gone wrong loses nothing.
//
// Another user must not be able to plant or swap anything here: the root,
// machines/, locks/ and every machine directory pass the socket directories'
// checks (owned by this user, 0700, no symlink, every ancestor owned by root
// or the user and not open to others), and config.json is opened without
// following a symlink and read only if this user owns it.
import { constants, type Stats } from "node:fs";
import { lstat, mkdir, open, readdir, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import {
  checkDirStats,
  checkPrivateDir,
  effectiveUid,
  ensurePrivateChildDir,
  ensurePrivateDir,
  SocketDirError,
  type CheckedDir,
} from "../socket/private-dir.js";
import { CliError, EXIT_NOT_FOUND, EXIT_PRECONDITION } from "./cli-error.js";
import { writeFileAtomic } from "../fs/atomic-write.js";
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

/** A config.json larger than this is not a config someone wrote: refused before it is read. */
export const MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024;

export class MachineStore {
  private layout: Promise<CheckedDir> | undefined;

  constructor(readonly root: string) {}

  /**
   * Creates the root, machines/ and locks/ (0700) where missing and checks
   * them, once per process; a directory someone else could write is refused
   * with the fix, before anything is read from or written to it. Resolves
   * the root as checked, for entries of it checked the same way.
   */
  checkLayout(): Promise<CheckedDir> {
    this.layout ??= storeDirCheck(async () => {
      const root = await ensurePrivateDir(this.root, { label: "machine store directory" }, { makeParents: true });
      // Entries of the root just checked: their own checks, not the root's ancestors again.
      await Promise.all([
        ensurePrivateChildDir(root, "machines", { label: "machine store directory" }, this.machinesDir),
        ensurePrivateChildDir(root, "locks", { label: "machine store directory" }, this.locksDir),
      ]);
      return root;
    });
    return this.layout;
  }

  /** Checks one machine's directory like the store's own (it is the driver's storePath). */
  async checkMachineDir(name: string): Promise<void> {
    const dir = this.machineDir(name);
    const st = await this.machineDirStats(name);
    if (st === undefined) {
      await storeDirCheck(() => checkPrivateDir(dir, { label: "machine directory" }));
      return;
    }
    await storeDirCheck(() => checkDirStats(dir, st, { label: "machine directory" }));
  }

  /**
   * The machine directory's lstat, undefined when it is missing, after the
   * layout's check. Its ancestors are machines/ and machines/'s, which that
   * check walked (the entry, once its lstat shows no symlink, lies in
   * machines/'s real path), so a machine directory's own check is its lstat:
   * `ls` of many machines does not walk the same ancestors once per machine.
   */
  private async machineDirStats(name: string): Promise<Stats | undefined> {
    const dir = this.machineDir(name);
    await this.checkLayout();
    return lstat(dir).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
  }

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
    await this.checkLayout();
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
      return (await lstat(this.machineDir(name))).isDirectory();
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async hasConfig(name: string): Promise<boolean> {
    try {
      return (await lstat(this.configPath(name))).isFile();
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Reads a machine's record; a missing or invalid file is a CliError naming it. */
  async read(name: string): Promise<MachineRecord> {
    const path = this.configPath(name);
    const st = await this.machineDirStats(name);
    if (st === undefined) {
      throw new CliError(
        `no machine named ${JSON.stringify(name)} in ${this.machinesDir}: "driverplug ls" lists the machines, "driverplug create" makes one`,
        EXIT_NOT_FOUND,
      );
    }
    await storeDirCheck(() => checkDirStats(this.machineDir(name), st, { label: "machine directory" }));
    let text: string;
    try {
      text = await readOwnFile(path);
    } catch (err) {
      if (isNotFound(err)) {
        throw new CliError(
          `machine ${JSON.stringify(name)} has no ${path} (an interrupted create?): remove it with "driverplug rm ${name}"`,
          EXIT_PRECONDITION,
        );
      }
      throw err;
    }
    return parseRecord(text, path);
  }

  /** Creates the machine's directory (0700); fails if it exists. */
  async createDir(name: string): Promise<string> {
    const dir = this.machineDir(name);
    await this.checkLayout();
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
    await this.checkMachineDir(name);
    return dir;
  }

  /** Compact JSON: a driver's deeply nested config must not grow many-fold by indentation. */
  async write(name: string, record: MachineRecord): Promise<void> {
    const body = { version: STORE_FORMAT_VERSION, driver: record.driver, config: record.config };
    await this.checkMachineDir(name);
    await writeFileAtomic(this.configPath(name), `${JSON.stringify(body)}\n`);
  }

  /** Removes a machine's directory; one that fails the checks (someone else's) is refused, not removed. */
  async removeDir(name: string): Promise<void> {
    try {
      await this.checkMachineDir(name);
    } catch (err) {
      if (err instanceof CliError && !(await this.dirExists(name))) return;
      throw err;
    }
    await rm(this.machineDir(name), { recursive: true, force: true });
  }
}

/** Runs a directory check; a refusal becomes the CLI's error, with the check's message and fix. */
async function storeDirCheck<T>(check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (err) {
    if (err instanceof SocketDirError) throw new CliError(err.message, EXIT_PRECONDITION, { cause: err });
    throw err;
  }
}

/**
 * Reads a file without following a symlink (O_NOFOLLOW), only if it is a
 * regular file this user owns that nobody else can write, and only up to
 * MAX_CONFIG_FILE_BYTES. ENOENT passes through for the caller's message.
 */
export async function readOwnFile(path: string): Promise<string> {
  let file;
  try {
    file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOOP")
      throw new CliError(
        `${path} is a symlink; driverplug never follows one in its store (it could lead anywhere): replace it with the file itself`,
      );
    throw err;
  }
  try {
    const st = await file.stat();
    const refuse = (why: string) =>
      new CliError(`${path} ${why}; it was not read: fix it (or remove the machine's directory) by hand`);
    if (!st.isFile()) throw refuse("is not a regular file");
    if (st.uid !== effectiveUid())
      throw refuse(`is owned by uid ${st.uid}, not by this user (uid ${effectiveUid()}), so someone else wrote it`);
    if ((st.mode & 0o022) !== 0)
      throw refuse(`has mode 0${(st.mode & 0o777).toString(8)}, which lets others change it: chmod 0600 ${path}, then`);
    if (st.size > MAX_CONFIG_FILE_BYTES)
      throw refuse(`is ${st.size} bytes, over the ${MAX_CONFIG_FILE_BYTES}-byte limit of a machine config`);
    // The size just checked, read at once (FileHandle.readFile would fstat again first).
    const bytes = Buffer.allocUnsafe(st.size);
    let filled = 0;
    while (filled < st.size) {
      const { bytesRead } = await file.read(bytes, filled, st.size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return bytes.toString("utf8", 0, filled);
  } finally {
    await file.close();
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
