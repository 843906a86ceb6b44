// What makes a warm plugin "the same plugin" for a later command: the files
// it runs (its executable, the files on its command line once it exec'd, and
// the bundle beside a driverplug runner) with their device, inode, size and
// mtime, and the environment it was given. A rebuilt or upgraded plugin, a
// new Node, or another environment changes one of them, and the warm plugin
// is not reused.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { PLUGIN_ENV_ALLOWLIST } from "../host/plugin-env.js";

export interface FileIdentity {
  path: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

/** The most files one plugin's identity holds (a command line can name many). */
const MAX_FILES = 16;

async function identify(path: string): Promise<FileIdentity | undefined> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) return undefined;
  return { path, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

/** The plugin's command line, from /proc; empty where there is none. */
function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8")
      .split("\0")
      .filter((a) => a !== "");
  } catch {
    return [];
  }
}

/**
 * The files plugin `pid`, started from `executable`, runs: a shell launcher
 * exec's node with a runner, and driverplug's runner loads `<name>.bundle.cjs`.
 */
export async function pluginFiles(executable: string, pid: number): Promise<FileIdentity[]> {
  const paths = new Set<string>([executable]);
  for (const arg of commandLine(pid)) {
    if (!isAbsolute(arg)) continue;
    paths.add(arg);
    if (arg.endsWith(".cjs") && !arg.endsWith(".bundle.cjs")) paths.add(`${arg.slice(0, -4)}.bundle.cjs`);
  }
  const found = await Promise.all([...paths].slice(0, MAX_FILES).map(identify));
  return found.filter((f): f is FileIdentity => f !== undefined);
}

/** True when every recorded file is still the one recorded. */
export async function sameFiles(recorded: readonly FileIdentity[]): Promise<boolean> {
  if (recorded.length === 0) return false;
  const now = await Promise.all(recorded.map((f) => identify(f.path)));
  return recorded.every((f, i) => {
    const n = now[i];
    return n !== undefined && n.dev === f.dev && n.ino === f.ino && n.size === f.size && n.mtimeMs === f.mtimeMs;
  });
}

/** A digest of what launch() passes on from `env` to a plugin (the allowlist and the names it is told to pass). */
export function environmentDigest(env: NodeJS.ProcessEnv, inherit: readonly string[]): string {
  const names = new Set(inherit);
  const kept = Object.entries(env)
    .filter(([k, v]) => v !== undefined && (names.has(k) || PLUGIN_ENV_ALLOWLIST.some((re) => re.test(k))))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash("sha256").update(JSON.stringify(kept)).digest("hex");
}
