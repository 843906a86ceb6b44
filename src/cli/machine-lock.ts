// One lock per machine, so two driverplug commands never drive or rewrite the
// same machine at once: the second waits, and gives up after a timeout with a
// message naming the machine and the process holding it.
//
// proper-lockfile does the locking (an atomic mkdir, kept fresh by mtime
// updates, so a lock left by a killed process goes stale after `stale` ms
// instead of blocking forever). It does not record who holds a lock, so the
// holder writes <name>.holder.json next to it for the error message.
import lockfile from "proper-lockfile";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { CliError, EXIT_PRECONDITION } from "./cli-error.js";
import { writeFileAtomic } from "../fs/atomic-write.js";
import type { MachineStore } from "./machine-store.js";

/** A lock not refreshed for this long is stale: its holder died without releasing it. */
const STALE_MS = 10_000;
const POLL_MS = 50;

export interface LockHolder {
  pid: number;
  command: string;
  since: string;
}

export interface MachineLock {
  /** Idempotent; never throws (a lock already gone is fine). */
  release(): Promise<void>;
}

export interface LockOptions {
  /** How long to wait for another command to finish; 0 fails at once. */
  timeoutMs: number;
  /** What this process is doing, shown to a command that waits for it. */
  command: string;
  signal?: AbortSignal;
}

function paths(store: MachineStore, name: string) {
  const base = join(store.locksDir, name);
  return { target: store.machineDir(name), lockfilePath: `${base}.lock`, holder: `${base}.holder.json` };
}

export async function lockMachine(store: MachineStore, name: string, options: LockOptions): Promise<MachineLock> {
  const p = paths(store, name);
  await store.checkLayout();
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const unlock = await lockfile.lock(p.target, {
        realpath: false,
        lockfilePath: p.lockfilePath,
        stale: STALE_MS,
        retries: 0,
        // The lock can only be "compromised" if someone removed it by hand or
        // the process stalled past `stale`; say so rather than crash.
        onCompromised: (err) =>
          process.emitWarning(`the lock of machine ${JSON.stringify(name)} was lost: ${err.message}`),
      });
      const holder: LockHolder = { pid: process.pid, command: options.command, since: new Date().toISOString() };
      await writeFileAtomic(p.holder, `${JSON.stringify(holder)}\n`);
      return once(async () => {
        await rm(p.holder, { force: true });
        await unlock().catch(() => undefined);
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ELOCKED") throw err;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw await busyError(store, name);
    await delay(Math.min(POLL_MS, left), undefined, { signal: options.signal });
  }
}

/** Whether another process holds the machine's lock right now. */
export async function isMachineLocked(store: MachineStore, name: string): Promise<boolean> {
  const p = paths(store, name);
  return lockfile
    .check(p.target, { realpath: false, lockfilePath: p.lockfilePath, stale: STALE_MS })
    .catch(() => false);
}

export async function readLockHolder(store: MachineStore, name: string): Promise<LockHolder | undefined> {
  try {
    const value = JSON.parse(await readFile(paths(store, name).holder, "utf8")) as Partial<LockHolder>;
    if (typeof value.pid === "number" && typeof value.command === "string" && typeof value.since === "string") {
      return value as LockHolder;
    }
  } catch {
    // Missing or half-written: the holder is just not known.
  }
  return undefined;
}

async function busyError(store: MachineStore, name: string): Promise<CliError> {
  const holder = await readLockHolder(store, name);
  const who =
    holder === undefined
      ? "another driverplug command"
      : `process ${holder.pid} (${JSON.stringify(holder.command)}, since ${holder.since})`;
  return new CliError(
    `machine ${JSON.stringify(name)} is busy: ${who} holds its lock ${paths(store, name).lockfilePath}; ` +
      `wait for it to finish, or give more time with --lock-timeout <seconds>`,
    EXIT_PRECONDITION,
  );
}

function once(release: () => Promise<void>): MachineLock {
  let done: Promise<void> | undefined;
  return { release: () => (done ??= release()) };
}
