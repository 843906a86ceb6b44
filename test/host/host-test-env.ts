// Shared set-up for the host tests: a temp socket base dir and scratch dir
// per test, the fixture plugin's path, and what /proc says about this
// process's children and open fds (to prove nothing leaked).
import { promises as fs, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { ClientError } from "../../src/host/index.js";

export const FIXTURE = fileURLToPath(new URL("../fixtures/hosts/fixture-plugin.mjs", import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const FAKE_PLUGIN = join(REPO_ROOT, "bin", "driverplug-driver-fake");

export interface HostTestEnv {
  root: string;
  /** The socketBaseDir to launch with. */
  base: string;
  /** Somewhere fixtures may put files outside the private dirs. */
  scratch: string;
  cleanup(): Promise<void>;
}

export async function makeHostTestEnv(): Promise<HostTestEnv> {
  const root = await fs.mkdtemp(join(tmpdir(), "dp-"));
  const scratch = join(root, "s");
  await fs.mkdir(scratch, { mode: 0o700 });
  return {
    root,
    base: join(root, "b"),
    scratch,
    cleanup: () => fs.rm(root, { recursive: true, force: true }),
  };
}

export async function entries(dir: string): Promise<string[]> {
  return fs.readdir(dir).catch(() => []);
}

interface ProcInfo {
  pid: number;
  state: string;
}

/** This process's direct children, zombies included (state "Z"). */
export function childProcesses(parent = process.pid): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue;
    }
    // The command name may hold spaces and parentheses: fields start after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[1]) === parent) out.push({ pid: Number(name), state: fields[0] ?? "?" });
  }
  return out;
}

export function processExists(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

export function openFdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

/** This process's open fds and what each points at (sorted), so a leak says what leaked. */
export function openFds(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      out.push(`${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`).replace(/\[[0-9]+\]$/, "[...]")}`);
    } catch {
      // The fd readdir itself used, closed by now.
    }
  }
  return out.sort();
}

/** The ClientError a call fails with; fails the test if the call succeeds. */
export async function clientFailure(p: Promise<unknown>): Promise<ClientError> {
  const err = await p.then(
    () => new Error("the call succeeded, expected a ClientError"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ClientError);
  return err as ClientError;
}
