// Warm plugins: a driver's plugin that serves many machines (and ends by
// itself when idle) is left running after a command, so the next command
// reconnects to it instead of starting Node again. Its record lives in
// <store>/plugins/<driver>.json (0600, in a directory that passes the store's
// checks, read only if this user owns it and nobody else can write it), under
// the lock <store>/locks/plugin@<driver>.lock, so two commands share one
// plugin or the second starts its own, never a half-written record.
//
// Reuse trusts nothing in the record: reattach()'s checks (the private dir,
// the socket, the pid alive and holding that socket; a stale or forged record
// is refused and nothing is signalled), the plugin's files and environment
// unchanged (plugin-identity.ts), and the plugin still answering that it ends
// when idle. Anything else: the record goes and a fresh plugin starts.
import { readdir, rm, stat, utimes } from "node:fs/promises";
import { join } from "node:path";
import { Capability } from "../../generated/driverplug/driver/v1/driver.js";
import { findPlugin } from "../host/find-plugin.js";
import { launch, type LaunchOptions } from "../host/launch.js";
import type { PluginHandle } from "../host/plugin-handle.js";
import { reattach, verifyReattachRecord } from "../host/reattach.js";
import { parseReattachRecord, type ReattachRecord } from "../host/reattach-record.js";
import { writeFileAtomic } from "../fs/atomic-write.js";
import { ensurePrivateDir } from "../socket/private-dir.js";
import { CliError, EXIT_USAGE } from "./cli-error.js";
import { lockMachine, type MachineLock } from "./machine-lock.js";
import { isNotFound, readOwnFile, type MachineStore } from "./machine-store.js";
import { environmentDigest, pluginFiles, sameFiles, type FileIdentity } from "./plugin-identity.js";

export const WARM_ENV = "DRIVERPLUG_WARM";
/** Long enough to cover a burst of commands, short enough that nobody finds a forgotten process. */
export const DEFAULT_WARM_S = 60;
/** The longest idle period accepted: a day. */
const MAX_WARM_S = 86_400;
/** How long a command waits for another one starting the same driver's plugin before it starts its own. */
const RECORD_LOCK_MS = 10_000;
const RECORD_FORMAT = 1;

export interface WarmRecord {
  format: 1;
  reattach: ReattachRecord;
  idleMs: number;
  /** The executable the plugin was started from, as the driver's name resolved then. */
  executable: string;
  files: FileIdentity[];
  /** environmentDigest() of what the plugin was given. */
  env: string;
  startedAt: string;
}

/** Parses a --warm / DRIVERPLUG_WARM value in seconds; 0 turns warm plugins off. */
export function parseWarmSeconds(text: string, from: string): number {
  const s = Number(text);
  if (text.trim() === "" || !Number.isFinite(s) || s < 0 || s > MAX_WARM_S)
    throw new CliError(
      `${from} is ${JSON.stringify(text)}: give how many seconds an idle plugin stays up for the next command (0 to 86400; 0 turns warm plugins off, default ${DEFAULT_WARM_S})`,
      EXIT_USAGE,
    );
  return s;
}

/** The --warm value of a command line (before "--"), if given. */
export function warmArg(argv: readonly string[]): string | undefined {
  let text: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") break;
    if (arg === "--warm") text = argv[i + 1] ?? "";
    else if (arg.startsWith("--warm=")) text = arg.slice("--warm=".length);
  }
  return text;
}

/** The idle period in ms from --warm, else DRIVERPLUG_WARM, else the default; 0 is off. */
export function warmIdleMs(argv: readonly string[], env: NodeJS.ProcessEnv): number {
  const flag = warmArg(argv);
  if (flag !== undefined) return Math.round(parseWarmSeconds(flag, "--warm") * 1000);
  const fromEnv = env[WARM_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return Math.round(parseWarmSeconds(fromEnv, WARM_ENV) * 1000);
  return DEFAULT_WARM_S * 1000;
}

export function pluginsDir(store: MachineStore): string {
  return join(store.root, "plugins");
}

function recordPath(store: MachineStore, driver: string): string {
  return join(pluginsDir(store), `${driver}.json`);
}

/** The lock name: "@" is not allowed in machine names, so it never meets a machine's lock. */
function lockName(driver: string): string {
  return `plugin@${driver}`;
}

export async function lockRecord(store: MachineStore, driver: string, timeoutMs: number): Promise<MachineLock> {
  return lockMachine(store, lockName(driver), { timeoutMs, command: `driverplug (warm plugin ${driver})` });
}

async function ensurePluginsDir(store: MachineStore): Promise<void> {
  await store.checkLayout();
  await ensurePrivateDir(pluginsDir(store), { label: "machine store directory" });
}

/** The drivers with a record, sorted. */
export async function recordedDrivers(store: MachineStore): Promise<string[]> {
  await ensurePluginsDir(store);
  const names = await readdir(pluginsDir(store)).catch(() => []);
  return names
    .filter((n) => n.endsWith(".json") && !n.startsWith("."))
    .map((n) => n.slice(0, -".json".length))
    .sort();
}

/** The record of `driver`, or undefined when there is none or it is unusable (then removed, if `removeUnusable`: hold the lock). */
export async function readRecord(
  store: MachineStore,
  driver: string,
  removeUnusable = true,
): Promise<WarmRecord | undefined> {
  const path = recordPath(store, driver);
  let text: string;
  try {
    text = await readOwnFile(path);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    // Someone else's file, a symlink, a huge file: never trusted, and not ours to remove.
    return undefined;
  }
  try {
    const value = JSON.parse(text) as Partial<WarmRecord>;
    if (value.format !== RECORD_FORMAT) throw new Error("format");
    const reattachRecord = parseReattachRecord(value.reattach);
    if (reattachRecord.driver !== driver) throw new Error("driver");
    if (typeof value.idleMs !== "number" || typeof value.executable !== "string" || typeof value.env !== "string")
      throw new Error("fields");
    if (!Array.isArray(value.files) || typeof value.startedAt !== "string") throw new Error("fields");
    return { ...(value as WarmRecord), reattach: reattachRecord };
  } catch {
    // Only under the record's lock: without it, this could be another command's fresh record.
    if (removeUnusable) await rm(path, { force: true });
    return undefined;
  }
}

export async function removeRecord(store: MachineStore, driver: string): Promise<void> {
  await rm(recordPath(store, driver), { force: true });
}

/** When the record was last used (its mtime): a command touches it as it lets go of the plugin. */
export async function recordUsedAt(store: MachineStore, driver: string): Promise<number | undefined> {
  return (await stat(recordPath(store, driver)).catch(() => undefined))?.mtimeMs;
}

/** A record's plugin, checked as reattach() checks it, without connecting; undefined when it fails. */
export async function liveRecord(record: WarmRecord): Promise<WarmRecord | undefined> {
  try {
    await verifyReattachRecord(record.reattach);
    return record;
  } catch {
    return undefined;
  }
}

/** A plugin for one command: `keep` says close() only lets go of it (detach) and it stays warm. */
export interface WarmAcquired {
  handle: PluginHandle;
  keep: boolean;
  /** True when it was reattached rather than launched. */
  reused: boolean;
}

export class WarmPlugins {
  /** Drivers whose plugin turned out not to serve many machines (or not to end when idle): launched as usual. */
  private readonly cold = new Set<string>();

  constructor(
    private readonly store: MachineStore,
    readonly idleMs: number,
  ) {}

  /** A plugin of `driver`: the warm one if it passes every check, else a fresh one (kept warm when it can be). */
  async acquire(driver: string, options: LaunchOptions): Promise<WarmAcquired> {
    if (this.cold.has(driver)) return { handle: await launch(driver, options), keep: false, reused: false };
    const executable = options.executable ?? (await findPlugin(driver, options)).path;
    const env = environmentDigest(process.env, options.inheritEnv ?? []);
    await ensurePluginsDir(this.store);
    // The usual case takes no lock (whose holder file costs two fsyncs): a record is replaced by
    // rename, so it is read whole, old or new, and either passes every check or is left for the locked path.
    const seen = await readRecord(this.store, driver, false);
    if (seen) {
      const handle = await this.reuse(seen, executable, env, options);
      if (handle) return { handle, keep: true, reused: true };
    }
    let lock: MachineLock;
    try {
      lock = await lockRecord(this.store, driver, RECORD_LOCK_MS);
    } catch {
      // Another command is slow to start this driver: this one runs its own, as without warm plugins.
      return { handle: await launch(driver, { ...options, executable }), keep: false, reused: false };
    }
    try {
      const record = await readRecord(this.store, driver);
      if (record) {
        const handle = await this.reuse(record, executable, env, options);
        if (handle) return { handle, keep: true, reused: true };
        await removeRecord(this.store, driver);
      }
      const handle = await launch(driver, { ...options, executable, idleExitMs: this.idleMs });
      const [shared, idles] = await Promise.all([servesManyMachines(handle), handle.honoursIdleExit()]);
      if (!shared || !idles) {
        this.cold.add(driver);
        return { handle, keep: false, reused: false };
      }
      const fresh: WarmRecord = {
        format: RECORD_FORMAT,
        reattach: { ...handle.record },
        idleMs: this.idleMs,
        executable,
        files: await pluginFiles(executable, handle.pid),
        env,
        startedAt: new Date().toISOString(),
      };
      try {
        await writeFileAtomic(recordPath(this.store, driver), `${JSON.stringify(fresh)}\n`);
      } catch {
        // No record (a full disk): the plugin serves this command and is closed after it.
        return { handle, keep: false, reused: false };
      }
      return { handle, keep: true, reused: false };
    } finally {
      await lock.release();
    }
  }

  /** After a command: the record's mtime says when the warm plugin was last let go of. */
  async touch(driver: string): Promise<void> {
    const now = new Date();
    await utimes(recordPath(this.store, driver), now, now).catch(() => undefined);
  }

  private async reuse(
    record: WarmRecord,
    executable: string,
    env: string,
    options: LaunchOptions,
  ): Promise<PluginHandle | undefined> {
    // A rebuilt plugin, another executable for the name, another environment: start a new one. The old one
    // is left to its idle exit (a command may still be using it).
    if (record.executable !== executable || record.env !== env || !(await sameFiles(record.files))) return undefined;
    let handle: PluginHandle;
    try {
      handle = await reattach(record.reattach, {
        ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}),
        ...(options.termGraceMs !== undefined ? { termGraceMs: options.termGraceMs } : {}),
      });
    } catch {
      return undefined;
    }
    // Also the first call: a plugin that reached its idle exit a moment ago does not answer it.
    if (await handle.honoursIdleExit()) return handle;
    handle.detach();
    return undefined;
  }
}

/** GetInfo's capabilities; a plugin that cannot answer it serves one machine. */
async function servesManyMachines(handle: PluginHandle): Promise<boolean> {
  try {
    const info = await handle.client.getInfo({}, { timeoutMs: 5_000 });
    return info.capabilities.includes(Capability.CAPABILITY_MACHINE_INSTANCES);
  } catch {
    return false;
  }
}
