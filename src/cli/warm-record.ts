// A warm plugin's record: <store>/plugins/<driver>.json (0600, in a directory
// that passes the store's checks, read only if this user owns it and nobody
// else can write it), how it is read, checked and touched, and the --warm
// setting. Its own module, without launch() and grpc-js, so the CLI's fast
// status path (fast/fast-status.ts) reads records exactly as warm-plugins.ts
// does.
import { readdir, rm, stat, utimes } from "node:fs/promises";
import { join } from "node:path";
import { verifyReattachRecord } from "../host/reattach-verify.js";
import { parseReattachRecord, type ReattachRecord } from "../host/reattach-record.js";
import { ensurePrivateChildDir } from "../socket/private-dir.js";
import { CliError, EXIT_USAGE } from "./cli-error.js";
import { isNotFound, readOwnFile, type MachineStore } from "./machine-store.js";
import type { FileIdentity } from "./plugin-identity.js";

export const WARM_ENV = "DRIVERPLUG_WARM";
/** Long enough to cover a burst of commands, short enough that nobody finds a forgotten process. */
export const DEFAULT_WARM_S = 60;
/** The longest idle period accepted: a day. */
const MAX_WARM_S = 86_400;
export const RECORD_FORMAT = 1;

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

export function recordPath(store: MachineStore, driver: string): string {
  return join(pluginsDir(store), `${driver}.json`);
}

export async function ensurePluginsDir(store: MachineStore): Promise<void> {
  const root = await store.checkLayout();
  await ensurePrivateChildDir(root, "plugins", { label: "machine store directory" }, pluginsDir(store));
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

/** After a command: the record's mtime says when the warm plugin was last let go of. */
export async function touchRecord(store: MachineStore, driver: string): Promise<void> {
  const now = new Date();
  await utimes(recordPath(store, driver), now, now).catch(() => undefined);
}
